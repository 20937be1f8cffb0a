import { ApiObject, Include } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { ContainerSizing, resources, restrictedSecurityContext } from '../kube/container-defaults';
import { dropAddressLabel, useRuntimeDefaultSeccomp } from '../kube/objects';
import { enableIncludedPodOwners } from '../mesh/included-pod-owners';
import { enableSpireIdentity, SpireIdentityOptions } from '../mesh/spire-identity';
import { ClusterSpiffeId } from './cluster-spiffe-id';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { checkDnsLabel, checkPinnedImage, checkPort } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';

/** Chooses objects of an Include, for rules a selection cannot express. */
export interface IApiObjectPredicate {
  /** Whether this object is chosen. */
  matches(apiObject: ApiObject): boolean;
}

/** Which pod owners of an Include get a SPIRE identity; every condition given must hold. */
export interface IncludedWorkloadOptions extends SpireIdentityOptions {
  /** Kinds to choose, e.g. ["Deployment"]. @default every pod-owning kind */
  readonly kinds?: string[];
  /** Object names to choose. @default any name */
  readonly names?: string[];
  /** Labels the object itself (not its pods) must carry. @default any labels */
  readonly matchLabels?: { [key: string]: string };
  /** A rule of your own. @default every object */
  readonly predicate?: IApiObjectPredicate;
}

export interface SpireEnabledWorkloadProps {
  /** The Istio profile whose templates mount the SPIRE socket into istio-proxy. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that must select the pods; its selector labels are added to them. */
  readonly identity: ClusterSpiffeId;
  /** The namespace the workload runs in; Istio injection must be enabled there. */
  readonly namespace: MeshNamespace;
  /** Name of the Deployment, its ServiceAccount and Service (DNS-1123 label). */
  readonly name: string;
  /** Container image, pinned by tag or digest. */
  readonly image: string;
  /** Container port; when set, a ClusterIP Service named after the workload exposes it. @default no port, no Service */
  readonly port?: number;
  /** @default the image's entrypoint */
  readonly command?: string[];
  /** @default the image's arguments */
  readonly args?: string[];
  /** @default 1 */
  readonly replicas?: number;
  /** Non-root user the container runs as. @default 65532 */
  readonly user?: number;
  /** @default 10m CPU, 32Mi memory request, 128Mi limit */
  readonly sizing?: ContainerSizing;
  /** @default an HTTP GET of "/" when a port is set, else a command that succeeds while the container runs */
  readonly probe?: kplus.Probe;
}

/**
 * A Deployment whose pods get their SPIFFE ID from SPIRE through Istio: its own
 * ServiceAccount (the ID's `/sa/` part), the ClusterSPIFFEID's selector labels,
 * the `inject.istio.io/templates: sidecar,spire` annotation, in an
 * injection-enabled namespace. `SpireEnabledWorkload.enable` does the same
 * for a cdk8s-plus workload you already have.
 */
export class SpireEnabledWorkload extends Construct {
  /**
   * Gives a workload you already have a SPIRE identity: adds the selector
   * labels and the template annotation to its pod template and checks at
   * synth time that namespace, service account and ClusterSPIFFEID line up.
   * Takes any construct that defines a pod owner (Deployment, StatefulSet,
   * DaemonSet, ReplicaSet, Job, CronJob, Pod): a cdk8s-plus workload of any
   * version or a raw ApiObject.
   * @returns the API object that was changed
   */
  public static enable(workload: IConstruct, options: SpireIdentityOptions): ApiObject {
    return enableSpireIdentity(workload, options, options.profile.sidecarTemplates);
  }

  /**
   * Gives the pod owners loaded by an Include a SPIRE identity, all of them or
   * those the options choose. Choosing none is an error.
   * @returns the API objects that were changed
   */
  public static enableIncluded(include: Include, options: IncludedWorkloadOptions): ApiObject[] {
    return enableIncludedPodOwners(include, options);
  }

  public readonly deployment: kplus.Deployment;
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The Service in front of the pods, when a port is set. */
  public readonly service?: kplus.Service;
  /** The SPIFFE ID the pods get. */
  public readonly spiffeId: string;
  /** The namespace the pods run in. */
  public readonly namespace: MeshNamespace;
  /** The ClusterSPIFFEID that gives the pods their ID. */
  public readonly identity: ClusterSpiffeId;

  constructor(scope: Construct, id: string, props: SpireEnabledWorkloadProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.identity = props.identity;
    const namespace = props.namespace.name;
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: props.name, namespace },
      automountToken: false,
    });
    const labels = { app: props.name };
    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: props.name, namespace },
      replicas: props.replicas ?? 1,
      select: false,
      serviceAccount: this.serviceAccount,
      podMetadata: { labels },
      securityContext: { ensureNonRoot: true },
    });
    this.deployment.select(kplus.LabelSelector.of({ labels }));
    dropAddressLabel(this.deployment);
    useRuntimeDefaultSeccomp(this.deployment);
    this.deployment.addContainer({
      name: props.name,
      image: props.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: props.command,
      args: props.args,
      ports: props.port === undefined ? undefined : [{ name: 'http', number: props.port }],
      readiness: props.probe ?? defaultProbe(props.port),
      liveness: props.probe ?? defaultProbe(props.port),
      resources: resources(props.sizing ?? { cpuMillis: 10, memoryMiB: 32, memoryLimitMiB: 128 }),
      securityContext: restrictedSecurityContext(props.user ?? 65532),
    });
    if (props.port !== undefined) {
      this.service = new kplus.Service(this, 'Service', {
        metadata: { name: props.name, namespace },
        ports: [{ name: 'http', port: props.port, targetPort: props.port, protocol: kplus.Protocol.TCP }],
      });
      this.service.selectLabel('app', props.name);
    }
    SpireEnabledWorkload.enable(this.deployment, props);
    this.spiffeId = props.identity.spiffeIdFor(namespace, props.name);
    validateAtSynth(this, () => [
      ['name', checkDnsLabel(props.name)],
      ['image', checkPinnedImage(props.image)],
      ['port', props.port === undefined ? undefined : checkPort(props.port)],
    ]);
  }
}

function defaultProbe(port: number | undefined): kplus.Probe {
  return port === undefined ? kplus.Probe.fromCommand(['true']) : kplus.Probe.fromHttpGet('/', { port });
}
