import { Construct } from 'constructs';
import { Caller } from '../mesh/caller';
import { DefaultImages } from '../spire/images';
import { ClusterSpiffeId } from './cluster-spiffe-id';
import { IngressHttpRoute } from './ingress-http-route';
import { IstioIngressGateway } from './istio-ingress-gateway';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { SpiffeAuthorizationPolicy } from './spiffe-authorization-policy';
import { SpireEnabledWorkload } from './spire-enabled-workload';
import { StrictMtls } from './strict-mtls';
import { requireProps } from '../validation/required';

export interface DemoWorkloadsProps {
  /** The Istio profile whose templates the workloads and the gateway ask for. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that gives the gateway its ID, and the workloads theirs unless `workloadIdentity` is set. */
  readonly identity: ClusterSpiffeId;
  /** The ClusterSPIFFEID of `sleep` and `httpbin`, e.g. one that federates with a partner. @default `identity` */
  readonly workloadIdentity?: ClusterSpiffeId;
  /** @default DemoWorkloads.DEFAULT_NAMESPACE ("demo") */
  readonly namespace?: string;
  /** @default "istio-ingress" */
  readonly gatewayNamespace?: string;
  /** The host name `httpbin` is reached by through the ingress gateway. @default "httpbin.example.org" */
  readonly httpbinHost?: string;
  /** Callers `httpbin` lets in besides `sleep` and the gateway, e.g. workloads of a federated trust domain. @default none */
  readonly httpbinCallers?: Caller[];
}

/**
 * The ingress gateway and a demo pair of SPIRE-enabled workloads, a `sleep`
 * client and an `httpbin` server, in injection-enabled namespaces, with
 * `httpbin` exposed on the gateway. The demo namespace takes mTLS only, and
 * `httpbin` takes requests from `sleep` and the gateway only.
 */
export class DemoWorkloads extends Construct {
  /** Namespace of `sleep` and `httpbin` unless `namespace` names another. */
  public static readonly DEFAULT_NAMESPACE = 'demo';
  /** Name, and service account, of the `sleep` client: with the namespace, what a partner's policy names it by. */
  public static readonly SLEEP_NAME = 'sleep';

  public readonly sleep: SpireEnabledWorkload;
  public readonly httpbin: SpireEnabledWorkload;
  public readonly gateway: IstioIngressGateway;
  /** The route from the ingress gateway to `httpbin`. */
  public readonly httpbinRoute: IngressHttpRoute;
  /** Strict mTLS for the demo namespace. */
  public readonly mtls: StrictMtls;
  /** Who may call `httpbin`: `sleep`, the ingress gateway and the `httpbinCallers`. */
  public readonly httpbinPolicy: SpiffeAuthorizationPolicy;

  constructor(scope: Construct, id: string, props: DemoWorkloadsProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['profile', IstioSpireProfile, 'the IstioSpireProfile, e.g. mesh.profile'],
      ['identity', ClusterSpiffeId, 'the ClusterSpiffeId of the gateway, e.g. mesh.meshIdentity'],
    ]);
    const mesh = { profile: props.profile, identity: props.identity };
    const revision = props.profile.revision;
    const gatewayNamespace = MeshNamespace.create(this, 'GatewayNamespace', { name: props.gatewayNamespace ?? 'istio-ingress', revision });
    this.gateway = new IstioIngressGateway(this, 'IngressGateway', { ...mesh, namespace: gatewayNamespace, name: 'istio-ingressgateway' });

    const workloads = { profile: props.profile, identity: props.workloadIdentity ?? props.identity };
    const namespace = MeshNamespace.create(this, 'DemoNamespace', { name: props.namespace ?? DemoWorkloads.DEFAULT_NAMESPACE, revision });
    this.sleep = new SpireEnabledWorkload(this, 'Sleep', {
      ...workloads,
      namespace,
      name: DemoWorkloads.SLEEP_NAME,
      image: DefaultImages.DEMO_CURL,
      command: ['/bin/sleep', 'infinity'],
      terminationGracePeriodSeconds: 0,
    });
    this.httpbin = new SpireEnabledWorkload(this, 'Httpbin', {
      ...workloads,
      namespace,
      name: 'httpbin',
      image: DefaultImages.DEMO_HTTPBIN,
      port: 8080,
    });
    this.httpbinRoute = new IngressHttpRoute(this, 'HttpbinRoute', {
      gateway: this.gateway,
      name: 'httpbin',
      hosts: [props.httpbinHost ?? 'httpbin.example.org'],
      backend: this.httpbin,
    });
    this.mtls = new StrictMtls(this, 'StrictMtls', { profile: props.profile, namespace });
    // sleep only calls out; were its identity to federate, its proxy would take any partner peer in.
    if (workloads.identity.federatesWith.length > 0) {
      new SpiffeAuthorizationPolicy(this, 'SleepPolicy', { workload: this.sleep, allowFrom: [], denyAll: true, mtls: this.mtls });
    }
    this.httpbinPolicy = new SpiffeAuthorizationPolicy(this, 'HttpbinPolicy', {
      workload: this.httpbin,
      allowFrom: [Caller.workload(this.sleep), Caller.ingressGateway(this.gateway), ...props.httpbinCallers ?? []],
      mtls: this.mtls,
    });
  }
}
