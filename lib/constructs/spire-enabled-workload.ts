import { ApiObject, Include } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { gracePeriod, plusProbe, resources, restrictedSecurityContext } from '../kube/container-defaults';
import { ContainerSizing } from '../kube/pod-settings';
import { WorkloadProbe } from '../kube/probe';
import { dropAddressLabel, useRuntimeDefaultSeccomp } from '../kube/objects';
import { enableIncludedPodOwners, IncludedWorkloadOptions } from '../mesh/included-pod-owners';
import { enableSpireIdentity, SpireIdentityOptions } from '../mesh/spire-identity';
import { ClusterSpiffeId } from './cluster-spiffe-id';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { checkDnsLabel, checkGracePeriod, checkPinnedImage, checkPort } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';
import { RequiredProp, requireProps } from '../validation/required';

export type { IApiObjectPredicate, IncludedWorkloadOptions } from '../mesh/included-pod-owners';

/** The options every way of enabling a workload requires. */
const IDENTITY_OPTIONS: RequiredProp[] = [
  ['profile', IstioSpireProfile, 'the IstioSpireProfile, e.g. mesh.profile'],
  ['identity', ClusterSpiffeId, 'the ClusterSpiffeId that selects the pods, e.g. mesh.meshIdentity'],
];

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
  /** Readiness and liveness probe. @default an HTTP GET of "/" when a port is set, else a command that succeeds while the container runs */
  readonly probe?: WorkloadProbe;
  /**
   * Seconds a deleted pod has to stop after SIGTERM before it is killed. Set 0
   * for a process that ignores SIGTERM (e.g. `sleep` as PID 1), whose deletion
   * would otherwise wait the whole period.
   * @default 30, Kubernetes' default
   */
  readonly terminationGracePeriodSeconds?: number;
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
    requireProps(`SpireEnabledWorkload.enable(${workload?.node?.path})`, options, IDENTITY_OPTIONS);
    return enableSpireIdentity(workload, options, options.profile.sidecarTemplates);
  }

  /**
   * Gives the pod owners loaded by an Include a SPIRE identity, all of them or
   * those the options choose. Choosing none is an error.
   * @returns the API objects that were changed
   */
  public static enableIncluded(include: Include, options: IncludedWorkloadOptions): ApiObject[] {
    requireProps(`SpireEnabledWorkload.enableIncluded(${include?.node?.path})`, options, IDENTITY_OPTIONS);
    return enableIncludedPodOwners(include, options);
  }

  /** The Deployment. */
  public readonly deployment: ApiObject;
  /** The ServiceAccount the pods run as, the ID's `/sa/` part. */
  public readonly serviceAccount: ApiObject;
  /** The Service in front of the pods, when a port is set. */
  public readonly service?: ApiObject;
  /** The container port the Service exposes, when set. */
  public readonly port?: number;
  /** The labels that select the workload's pods, e.g. for policies. */
  public readonly selectorLabels: { [key: string]: string };
  /** The SPIFFE ID the pods get. */
  public readonly spiffeId: string;
  /** The namespace the pods run in. */
  public readonly namespace: MeshNamespace;
  /** The ClusterSPIFFEID that gives the pods their ID. */
  public readonly identity: ClusterSpiffeId;

  constructor(scope: Construct, id: string, props: SpireEnabledWorkloadProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ...IDENTITY_OPTIONS,
      ['namespace', MeshNamespace, 'the workload\'s MeshNamespace, e.g. MeshNamespace.create(scope, \'Shop\', { name: \'shop\' })'],
      ['name', 'string', 'the workload\'s name, e.g. "cart"'],
      ['image', 'string', 'the container image pinned by tag or digest, e.g. "registry.example/cart:1.4.2"'],
    ]);
    this.namespace = props.namespace;
    this.identity = props.identity;
    const namespace = props.namespace.name;
    this.port = props.port;
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: props.name, namespace },
      automountToken: false,
    });
    this.selectorLabels = { app: props.name };
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: props.name, namespace },
      replicas: props.replicas ?? 1,
      select: false,
      serviceAccount,
      podMetadata: { labels: this.selectorLabels },
      securityContext: { ensureNonRoot: true },
      terminationGracePeriod: gracePeriod(props.terminationGracePeriodSeconds ?? 30),
    });
    deployment.select(kplus.LabelSelector.of({ labels: this.selectorLabels }));
    dropAddressLabel(deployment);
    useRuntimeDefaultSeccomp(deployment);
    const probe = plusProbe(props.probe ?? defaultProbe(props.port), props.port);
    deployment.addContainer({
      name: props.name,
      image: props.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: props.command,
      args: props.args,
      ports: props.port === undefined ? undefined : [{ name: 'http', number: props.port }],
      readiness: probe,
      liveness: probe,
      resources: resources(props.sizing ?? { cpuMillis: 10, memoryMiB: 32, memoryLimitMiB: 128 }),
      securityContext: restrictedSecurityContext(props.user ?? 65532),
    });
    if (props.port !== undefined) {
      const service = new kplus.Service(this, 'Service', {
        metadata: { name: props.name, namespace },
        ports: [{ name: 'http', port: props.port, targetPort: props.port, protocol: kplus.Protocol.TCP }],
      });
      service.selectLabel('app', props.name);
      this.service = ApiObject.of(service);
    }
    this.serviceAccount = ApiObject.of(serviceAccount);
    this.deployment = SpireEnabledWorkload.enable(deployment, props);
    this.spiffeId = props.identity.spiffeIdFor(namespace, props.name);
    validateAtSynth(this, () => [
      ['name', checkDnsLabel(props.name)],
      ['image', checkPinnedImage(props.image)],
      ['port', props.port === undefined ? undefined : checkPort(props.port)],
      ['terminationGracePeriodSeconds', checkGracePeriod(props.terminationGracePeriodSeconds ?? 30)],
    ]);
  }
}

function defaultProbe(port: number | undefined): WorkloadProbe {
  return port === undefined ? WorkloadProbe.fromCommand(['true']) : WorkloadProbe.fromHttpGet('/');
}
