import { Lazy } from 'cdk8s';
import { SPIRE_MANAGED_IDENTITY_LABEL } from '../spire/labels';
import { Construct, IConstruct } from 'constructs';
import { ClusterSpiffeid, ClusterSpiffeidSpec } from '../../imports/spire.spiffe.io';
import { LabelSelectorSpec, selectorMatches, selectorProblems } from '../kube/label-selector';
import { checkSpiffeIdTemplate, ISTIO_SPIFFE_ID_TEMPLATE, renderTemplate } from '../spire/spiffe-id-template';
import { checkDnsSubdomain, checkGoDuration, checkTrustDomain, Problem } from '../validation/rules';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { registerLayoutChecks } from '../mesh/layout-checks';
import { Check, validateAtSynth } from '../validation/validate';
import { ClusterFederatedTrustDomain, federatedTrustDomainNames, federatesWithChecks, federationPrerequisites } from './cluster-federated-trust-domain';
import { checkServerSignsJwtSvids, type ISpireServer, SPIRE_SERVER_KIND } from './spire-server/reference';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

export { SPIRE_MANAGED_IDENTITY_LABEL };

/** What a ClusterSPIFFEID selects and issues, besides the server that reconciles it. */
export interface ClusterSpiffeIdOptions {
  /** Name of the cluster-scoped resource. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /** Go template of the SPIFFE ID. @default ClusterSpiffeId.ISTIO_SPIFFE_ID_TEMPLATE */
  readonly spiffeIdTemplate?: string;
  /** Pods this identity applies to. @default pods labelled `spiffe.io/spire-managed-identity: "true"` */
  readonly podSelector?: LabelSelectorSpec;
  /** Namespaces whose pods it applies to. @default all namespaces the controller manager does not ignore */
  readonly namespaceSelector?: LabelSelectorSpec;
  /**
   * Require Istio's `spiffe://<td>/ns/<namespace>/sa/<service account>` form;
   * turn off only for workloads outside the mesh. @default true
   */
  readonly istioIdentity?: boolean;
  /**
   * Other trust domains these workloads federate with: their SVIDs come with
   * those domains' bundles, so their proxies accept peers of those domains.
   * Each must be declared for the same server. @default none
   */
  readonly federatesWith?: ClusterFederatedTrustDomain[];
  /** Templates of DNS SANs. @default none */
  readonly dnsNameTemplates?: string[];
  /** Add the pod's Service DNS names as SANs. @default false */
  readonly autoPopulateDnsNames?: boolean;
  /** Upper bound of X.509 SVID lifetime (Go duration). @default the server's default SVID TTL */
  readonly ttl?: string;
  /** Upper bound of JWT SVID lifetime (Go duration). @default the server's default */
  readonly jwtTtl?: string;
  /** Extra workload selectors templates, "type:value". @default none */
  readonly workloadSelectorTemplates?: string[];
  /** Apply only to pods no other ClusterSPIFFEID selects. @default false */
  readonly fallback?: boolean;
  /** Hint workloads use to choose between several SVIDs. @default none */
  readonly hint?: string;
  /** The workloads may call the server's admin API. @default false, so that workloads cannot manage entries */
  readonly admin?: boolean;
  /**
   * The workloads are downstream SPIRE servers, which mint SVIDs of their
   * own under this server's CA (nested SPIRE, see `UpstreamAuthority.spire`).
   * @default false, so that workloads cannot sign for others
   */
  readonly downstream?: boolean;
}

export interface ClusterSpiffeIdProps extends ClusterSpiffeIdOptions {
  /** The server whose controller manager reconciles this resource; trust domain and class come from it. */
  readonly server: ISpireServer;
}

/**
 * A ClusterSPIFFEID: tells the SPIRE Controller Manager which pods get which
 * SPIFFE ID. Its `className` is always the server's, so the controller manager
 * that serves this trust domain is the one that reconciles it.
 */
export class ClusterSpiffeId extends Construct implements IApplyStaged {
  /** The SPIFFE ID form Istio requires: it derives the peer identity from namespace and service account. */
  public static readonly ISTIO_SPIFFE_ID_TEMPLATE = ISTIO_SPIFFE_ID_TEMPLATE;

  /** The pod label the default podSelector selects. */
  public static readonly MANAGED_IDENTITY_LABEL = SPIRE_MANAGED_IDENTITY_LABEL;

  /** Every ClusterSpiffeId in the app that holds `scope`, in creation order. */
  public static allIn(scope: IConstruct): ClusterSpiffeId[] {
    return ClusterSpiffeId.byRoot.get(scope.node.root) ?? [];
  }

  // Registered at construction, so the list is current whenever the tree is read.
  private static readonly byRoot = new WeakMap<IConstruct, ClusterSpiffeId[]>();

  public readonly name: string;
  public readonly server: ISpireServer;
  public readonly trustDomain: string;
  public readonly spiffeIdTemplate: string;
  public readonly podSelector: LabelSelectorSpec;
  public readonly namespaceSelector?: LabelSelectorSpec;
  public readonly istioIdentity: boolean;
  /** Labels that put a pod under this identity's podSelector, for workloads to adopt. */
  public readonly podLabels: { [key: string]: string };
  /** The controller manager's webhook admits it, so SPIRE runs first. */
  public readonly applyStage = ApplyStage.IDENTITIES;

  private readonly props: ClusterSpiffeIdProps;
  private readonly federatedDomains: ClusterFederatedTrustDomain[];

  constructor(scope: Construct, id: string, props: ClusterSpiffeIdProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['server', SPIRE_SERVER_KIND, 'the SpireServer whose controller manager reconciles it'],
    ]);
    this.props = props;
    this.server = props.server;
    this.trustDomain = props.server.trustDomain;
    this.name = props.name ?? defaultName(this);
    this.spiffeIdTemplate = props.spiffeIdTemplate ?? ISTIO_SPIFFE_ID_TEMPLATE;
    this.podSelector = props.podSelector ?? { matchLabels: { [SPIRE_MANAGED_IDENTITY_LABEL]: 'true' } };
    this.namespaceSelector = props.namespaceSelector;
    this.istioIdentity = props.istioIdentity ?? true;
    this.podLabels = { ...this.podSelector.matchLabels };
    this.federatedDomains = [...props.federatesWith ?? []];
    const siblings = ClusterSpiffeId.byRoot.get(this.node.root) ?? [];
    ClusterSpiffeId.byRoot.set(this.node.root, [...siblings, this]);

    new ClusterSpiffeid(this, 'Resource', { metadata: { name: this.name }, spec: this.renderSpec() });
    validateAtSynth(this, () => this.checks());
    ApplyStages.declare(this);
    registerLayoutChecks(this);
  }

  /** The server, whose controller manager admits it, and the declarations of the trust domains it federates with. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [
      { construct: this.server, reason: 'the SPIRE controller manager\'s webhook admits ClusterSPIFFEIDs, so SPIRE must run first' },
      ...federationPrerequisites(this, this.federatedDomains, this.server),
    ];
  }

  /** The trust domains these workloads federate with. */
  public get federatesWith(): ClusterFederatedTrustDomain[] {
    return [...this.federatedDomains];
  }

  /** Adds trust domains these workloads federate with, e.g. once the partner is declared after this identity. */
  public federateWith(...domains: ClusterFederatedTrustDomain[]): void {
    this.federatedDomains.push(...domains);
  }

  /** Whether this identity selects a pod with these labels in a namespace with these labels. */
  public selects(podLabels: { [key: string]: string }, namespaceLabels: { [key: string]: string }): boolean {
    return selectorMatches(this.podSelector, podLabels) && selectorMatches(this.namespaceSelector, namespaceLabels);
  }

  /** The SPIFFE ID a pod gets, with fields other than namespace and service account left as `<.Field>`. */
  public spiffeIdFor(namespace: string, serviceAccountName: string): string {
    return renderTemplate(this.spiffeIdTemplate, {
      trustDomain: this.trustDomain,
      clusterName: this.server.clusterName,
      namespace,
      serviceAccountName,
    });
  }

  private renderSpec(): ClusterSpiffeidSpec {
    const props = this.props;
    return {
      className: this.server.className,
      spiffeIdTemplate: this.spiffeIdTemplate,
      podSelector: this.podSelector,
      namespaceSelector: props.namespaceSelector,
      // Read at synth, so that federateWith calls after construction count.
      federatesWith: Lazy.any({ produce: () => federatedTrustDomainNames(this.federatedDomains) }),
      dnsNameTemplates: props.dnsNameTemplates,
      autoPopulateDnsNames: props.autoPopulateDnsNames,
      ttl: props.ttl,
      jwtTtl: props.jwtTtl,
      workloadSelectorTemplates: props.workloadSelectorTemplates,
      fallback: props.fallback,
      hint: props.hint,
      admin: props.admin || undefined,
      downstream: props.downstream || undefined,
    };
  }

  private checks(): Check[] {
    const props = this.props;
    return [
      ['name', checkDnsSubdomain(this.name)],
      // With an invalid trust domain the server reports the cause; every template would fail too.
      ['spiffeIdTemplate', checkTrustDomain(this.trustDomain) ? undefined : checkSpiffeIdTemplate(this.spiffeIdTemplate, this.trustDomain, this.istioIdentity)],
      ['podSelector', this.checkPodSelector()],
      ...selectorProblems(this.podSelector).map((problem): Check => ['podSelector', problem]),
      ...selectorProblems(this.namespaceSelector).map((problem): Check => ['namespaceSelector', problem]),
      ...federatesWithChecks(this.federatedDomains, this.server),
      ['ttl', props.ttl === undefined ? undefined : checkGoDuration(props.ttl)],
      ['jwtTtl', props.jwtTtl === undefined ? undefined : checkGoDuration(props.jwtTtl) ?? checkServerSignsJwtSvids(this.server, props.jwtTtl, 'a JWT-SVID lifetime')],
    ];
  }

  private checkPodSelector(): Problem | undefined {
    if (!isEmptySelector(this.podSelector) || !isEmptySelector(this.namespaceSelector)) return undefined;
    return {
      value: '{}',
      rule: 'an empty podSelector without a namespaceSelector gives every pod in the cluster this identity',
      fix: `select an opt-in label, e.g. { matchLabels: { "${SPIRE_MANAGED_IDENTITY_LABEL}": "true" } }, or the namespaces with a namespaceSelector`,
    };
  }
}

function isEmptySelector(selector: LabelSelectorSpec | undefined): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
}
