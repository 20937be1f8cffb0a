import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { resources, restrictedSecurityContext } from '../kube/container-defaults';
import { dropAddressLabel, plusServiceType, selectPodLabels, useRuntimeDefaultSeccomp } from '../kube/objects';
import { ServiceType } from '../kube/service-type';
import { DefaultImages } from '../spire/images';
import { enableSpireIdentity } from '../mesh/spire-identity';
import { ClusterSpiffeId } from './cluster-spiffe-id';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { checkDnsLabel, checkPinnedImage, Problem } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

export interface IstioIngressGatewayProps {
  /** The Istio profile whose gateway templates mount the SPIRE socket into the gateway's istio-proxy. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that gives the gateway its ID; its selector labels are added to the pods. */
  readonly identity: ClusterSpiffeId;
  /** The namespace the gateway runs in; Istio injection must be enabled there. */
  readonly namespace: MeshNamespace;
  /** Name of the Deployment, Service and ServiceAccount. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /** @default 1 */
  readonly replicas?: number;
  /** @default ServiceType.LOAD_BALANCER */
  readonly serviceType?: ServiceType;
  /**
   * Let the gateway's identity federate: its proxy then holds the partners'
   * bundles and, as istiod accepts their peers mesh-wide, takes mTLS from
   * any of their workloads. Ask for it only for a gateway partners call.
   * @default false: an identity that federates is a synth error
   */
  readonly federated?: boolean;
  /** Image of the init container that waits for the SPIRE socket (needs `sh`). @default DefaultImages.SOCKET_WAIT */
  readonly socketWaitImage?: string;
}

// istio-proxy's user in Istio's proxy image.
const PROXY_UID = 1337;
const STATUS_PORT = 15021;

/**
 * An Istio ingress gateway deployed as an injected Deployment: Istio's
 * `gateway` template fills in the proxy (`image: auto`), the `spire-gateway`
 * template mounts the SPIRE socket, so the gateway's certificate comes from
 * SPIRE like every workload's. Its own ServiceAccount gives it the ID
 * `spiffe://<td>/ns/<namespace>/sa/<name>`.
 */
export class IstioIngressGateway extends Construct {
  /** The gateway's Deployment. */
  public readonly deployment: ApiObject;
  /** The Service in front of the gateway. */
  public readonly service: ApiObject;
  /** The ServiceAccount the gateway runs as, the ID's `/sa/` part. */
  public readonly serviceAccount: ApiObject;
  /** The `istio` label Gateway resources select this gateway by. */
  public readonly selectorLabel: { [key: string]: string } = { istio: 'ingressgateway' };
  /** The Service port that takes plain HTTP; Gateway servers for HTTP listen on it. */
  public readonly httpPort = 80;
  /** The Istio profile whose templates inject the gateway; its CRDs carry the gateway's routes. */
  public readonly profile: IstioSpireProfile;
  /** The SPIFFE ID the gateway pods get. */
  public readonly spiffeId: string;
  /** The namespace the gateway runs in. */
  public readonly namespace: MeshNamespace;
  /** The ClusterSPIFFEID that gives the gateway its ID. */
  public readonly identity: ClusterSpiffeId;

  constructor(scope: Construct, id: string, props: IstioIngressGatewayProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['profile', IstioSpireProfile, 'the IstioSpireProfile, e.g. mesh.profile'],
      ['identity', ClusterSpiffeId, 'the ClusterSpiffeId that gives the gateway its ID, e.g. mesh.meshIdentity'],
      ['namespace', MeshNamespace, 'the gateway\'s MeshNamespace, e.g. MeshNamespace.create(scope, \'Ingress\', { name: \'istio-ingress\' })'],
    ]);
    this.profile = props.profile;
    this.namespace = props.namespace;
    this.identity = props.identity;
    const name = props.name ?? defaultName(this);
    const namespace = props.namespace.name;
    const labels = { app: name, ...this.selectorLabel };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace },
      automountToken: false,
    });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name, namespace },
      replicas: props.replicas ?? 1,
      select: false,
      serviceAccount,
      // Gateway injection is requested per pod.
      podMetadata: { labels: { ...labels, 'sidecar.istio.io/inject': 'true' } },
      securityContext: { ensureNonRoot: true },
    });
    deployment.select(kplus.LabelSelector.of({ labels }));
    dropAddressLabel(deployment);
    useRuntimeDefaultSeccomp(deployment);
    deployment.addContainer({
      name: 'istio-proxy',
      // The injector replaces "auto" with the proxy image of the installed Istio.
      image: 'auto',
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [
        { name: 'status-port', number: STATUS_PORT },
        { name: 'http2', number: 8080 },
        { name: 'https', number: 8443 },
      ],
      readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: STATUS_PORT }),
      resources: resources({ cpuMillis: 100, memoryMiB: 128, memoryLimitMiB: 1024 }),
      securityContext: restrictedSecurityContext(PROXY_UID),
    });
    this.waitForSpireSocket(deployment, props);
    this.deployment = enableSpireIdentity(deployment, props, props.profile.gatewayTemplates);

    const service = new kplus.Service(this, 'Service', {
      metadata: { name, namespace },
      type: plusServiceType(props.serviceType ?? ServiceType.LOAD_BALANCER),
      ports: [
        { name: 'status-port', port: STATUS_PORT, targetPort: STATUS_PORT, protocol: kplus.Protocol.TCP },
        { name: 'http2', port: this.httpPort, targetPort: 8080, protocol: kplus.Protocol.TCP },
        { name: 'https', port: 443, targetPort: 8443, protocol: kplus.Protocol.TCP },
      ],
    });
    selectPodLabels(service, labels);
    this.service = ApiObject.of(service);

    // Lets istiod read TLS credentials for this gateway's Gateway resources.
    const role = new kplus.Role(this, 'SecretReader', { metadata: { name: `${name}-sds`, namespace } });
    role.allow(['get', 'watch', 'list'], kplus.ApiResource.SECRETS);
    new kplus.RoleBinding(this, 'SecretReaderBinding', { metadata: { name: `${name}-sds`, namespace }, role })
      .addSubjects(serviceAccount);
    this.serviceAccount = ApiObject.of(serviceAccount);

    this.spiffeId = props.identity.spiffeIdFor(namespace, name);
    const waitImage = props.socketWaitImage ?? DefaultImages.SOCKET_WAIT;
    validateAtSynth(this, () => [
      ['name', checkDnsLabel(name)],
      ['socketWaitImage', checkPinnedImage(waitImage)],
      ['identity', props.federated ? undefined : checkNotFederating(props.identity)],
    ]);
  }

  /**
   * istio-proxy looks for the SPIRE socket once, at start; without it, it
   * silently serves istiod's certificates instead. An init container holds
   * the pod until the node's agent serves the socket, so a gateway that
   * started too early stays visibly pending rather than running on the
   * wrong identity.
   */
  private waitForSpireSocket(deployment: kplus.Deployment, props: IstioIngressGatewayProps): void {
    const socket = props.profile.csiDriver.workloadApi;
    const mountDir = '/spire-agent-socket';
    const wait = deployment.addInitContainer({
      name: 'wait-for-spire-socket',
      image: props.socketWaitImage ?? DefaultImages.SOCKET_WAIT,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['sh', '-c', `until [ -S ${mountDir}/${socket.fileName} ]; do echo waiting for the SPIRE agent socket; sleep 1; done`],
      resources: resources({ cpuMillis: 10, memoryMiB: 8, memoryLimitMiB: 32 }),
      securityContext: restrictedSecurityContext(PROXY_UID),
    });
    wait.mount(mountDir, kplus.Volume.fromCsi(this, 'SpireSocket', props.profile.csiDriver.driverName, {
      name: 'spire-agent-socket',
      readOnly: true,
    }), { readOnly: true });
  }
}

function checkNotFederating(identity: ClusterSpiffeId): Problem | undefined {
  const partners = identity.federatesWith.map((domain) => domain.trustDomain);
  if (partners.length === 0) return undefined;
  return {
    value: `${identity.name} federates with ${partners.join(', ')}`,
    rule: 'the gateway would hold the partners\' bundles and take mTLS from any of their workloads, which it was not asked to',
    fix: 'give the gateway an identity that does not federate (the mesh identity), or set federated: true',
  };
}
