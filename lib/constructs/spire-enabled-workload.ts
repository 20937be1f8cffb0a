import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ContainerSizing, resources, restrictedSecurityContext } from '../container-defaults';
import { useRuntimeDefaultSeccomp } from '../kube';
import { enableSpireIdentity, SpireIdentityOptions } from '../mesh-checks';
import { checkDnsLabel, checkPinnedImage, checkPort } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';

export interface SpireEnabledWorkloadProps extends SpireIdentityOptions {
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
   * Gives an existing cdk8s-plus workload a SPIRE identity: adds the
   * selector labels and the template annotation to its pod template and checks
   * at synth time that namespace, service account and ClusterSPIFFEID line up.
   */
  public static enable(workload: kplus.Workload, options: SpireIdentityOptions): void {
    enableSpireIdentity(workload, options, options.profile.sidecarTemplates);
  }

  public readonly deployment: kplus.Deployment;
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The Service in front of the pods, when a port is set. */
  public readonly service?: kplus.Service;
  /** The SPIFFE ID the pods get. */
  public readonly spiffeId: string;

  constructor(scope: Construct, id: string, props: SpireEnabledWorkloadProps) {
    super(scope, id);
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
