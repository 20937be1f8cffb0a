import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { ISTIO_INJECTION_LABEL, ISTIO_REVISION_LABEL } from '../istio/names';
import { checkDnsLabel } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';
import { requireProps } from '../validation/required';

export interface MeshNamespaceProps {
  /** Name of the namespace (DNS-1123 label). */
  readonly name: string;
  /**
   * Istio revision whose injector serves the namespace: it is labelled
   * `istio.io/rev=<revision>` instead of `istio-injection=enabled`.
   * @default the default revision
   */
  readonly revision?: string;
  /** Further labels, e.g. for a ClusterSPIFFEID's namespaceSelector. @default none */
  readonly labels?: { [key: string]: string };
}

/** What you state about a namespace that exists already and is not emitted here. */
export interface ExistingNamespaceOptions {
  /** Whether Istio injects sidecars into new pods there (it is labelled `istio-injection=enabled` or `istio.io/rev`). */
  readonly istioInjection: boolean;
  /** The Istio revision whose injector serves it. @default the default revision */
  readonly revision?: string;
  /** Other labels it carries that the mesh checks read (namespaceSelector keys, `istio.io/dataplane-mode`). @default none */
  readonly labels?: { [key: string]: string };
}

/** Where the mesh checks learn a namespace's labels from. */
export enum NamespaceOrigin {
  /** Emitted by this app with the injection label. */
  CREATED = 'created by MeshNamespace',
  /** Emitted by this app from a Namespace construct of yours; its labels are read at synth. */
  ADOPTED = 'adopted with MeshNamespace.fromNamespace',
  /** Exists elsewhere; its labels are as you stated them, not read from the cluster. */
  DECLARED = 'declared with MeshNamespace.fromName, labels as stated',
}

function injectionLabels(revision: string | undefined): { [key: string]: string } {
  return revision === undefined ? { [ISTIO_INJECTION_LABEL]: 'enabled' } : { [ISTIO_REVISION_LABEL]: revision };
}

/**
 * A namespace SPIRE-enabled workloads run in, as the mesh checks see it:
 * created here with Istio injection on, adopted from a Namespace construct of
 * yours, or declared by name when the platform team owns it. Workloads find
 * theirs by name, so each namespace is known to the app once.
 */
export abstract class MeshNamespace extends Construct {
  /** Creates the namespace with Istio injection enabled. */
  public static create(scope: Construct, id: string, props: MeshNamespaceProps): MeshNamespace {
    requireProps(`${scope.node.path}/${id}`, props, [['name', 'string', 'the namespace\'s name, e.g. "shop"']]);
    return new CreatedNamespace(scope, id, props);
  }

  /**
   * Adopts a Namespace construct of yours (cdk8s-plus of any version, or an
   * ApiObject of kind Namespace); its labels are read when the app synthesizes.
   */
  public static fromNamespace(scope: Construct, id: string, namespace: IConstruct): MeshNamespace {
    requireProps(`${scope.node.path}/${id}`, { namespace }, [['namespace', 'object', 'your Namespace construct']]);
    const apiObject = ApiObject.of(namespace);
    if (apiObject.kind !== 'Namespace') {
      throw new Error(`${scope.node.path}/${id}: ${namespace.node.path} is a ${apiObject.kind}, not a Namespace. Fix: pass the Namespace construct.`);
    }
    return new ObjectNamespace(scope, id, apiObject.name, NamespaceOrigin.ADOPTED, namespace);
  }

  /** Declares a namespace that exists already and is not emitted here, with what you know of its labels. */
  public static fromName(scope: Construct, id: string, name: string, options: ExistingNamespaceOptions): MeshNamespace {
    requireProps(`${scope.node.path}/${id}`, { name, ...options }, [
      ['name', 'string', 'the namespace\'s name, e.g. "payments"'],
      ['istioInjection', 'boolean', 'whether Istio injection is on there, e.g. { istioInjection: true }'],
    ]);
    const labels = { ...options.labels, ...(options.istioInjection ? injectionLabels(options.revision) : {}) };
    return new DeclaredNamespace(scope, id, name, labels);
  }

  /** The namespace of this name known to the app holding `scope`, if any. */
  public static lookup(scope: IConstruct, name: string): MeshNamespace | undefined {
    return MeshNamespace.byRoot.get(scope.node.root)?.get(name);
  }

  private static readonly byRoot = new WeakMap<IConstruct, Map<string, MeshNamespace>>();

  /** The namespace's name. */
  public readonly name: string;
  /** Where the labels the checks read come from. */
  public readonly origin: NamespaceOrigin;

  protected constructor(scope: Construct, id: string, name: string, origin: NamespaceOrigin) {
    super(scope, id);
    this.name = name;
    this.origin = origin;
    const known = MeshNamespace.byRoot.get(this.node.root) ?? new Map<string, MeshNamespace>();
    const earlier = known.get(name);
    if (earlier) {
      throw new Error(`${this.node.path}: namespace "${name}" is already known to the app as ${earlier.node.path} (${earlier.origin}). Fix: pass that MeshNamespace instead of declaring the namespace again.`);
    }
    MeshNamespace.byRoot.set(this.node.root, known.set(name, this));
    validateAtSynth(this, () => [['name', checkDnsLabel(name)]]);
  }

  /** The value of one label of the namespace, as far as the app knows it. */
  public abstract label(key: string): string | undefined;
}

class ObjectNamespace extends MeshNamespace {
  constructor(scope: Construct, id: string, name: string, origin: NamespaceOrigin, private readonly namespace: IConstruct) {
    super(scope, id, name, origin);
  }

  public label(key: string): string | undefined {
    return ApiObject.of(this.namespace).metadata.getLabel(key);
  }
}

class CreatedNamespace extends MeshNamespace {
  private readonly namespace: kplus.Namespace;

  constructor(scope: Construct, id: string, props: MeshNamespaceProps) {
    super(scope, id, props.name, NamespaceOrigin.CREATED);
    const labels = { ...props.labels, ...injectionLabels(props.revision) };
    this.namespace = new kplus.Namespace(this, 'Resource', { metadata: { name: props.name, labels } });
  }

  public label(key: string): string | undefined {
    return this.namespace.metadata.getLabel(key);
  }
}

class DeclaredNamespace extends MeshNamespace {
  constructor(scope: Construct, id: string, name: string, private readonly labels: { [key: string]: string }) {
    super(scope, id, name, NamespaceOrigin.DECLARED);
  }

  public label(key: string): string | undefined {
    return this.labels[key];
  }
}
