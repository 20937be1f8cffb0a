import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterSpiffeId } from '../constructs/cluster-spiffe-id';
import { IstioIngressGateway } from '../constructs/istio-ingress-gateway';
import { IstioSpireProfile } from '../constructs/istio-spire-profile';
import { SpireEnabledWorkload } from '../constructs/spire-enabled-workload';
import { injectionEnabledNamespace } from '../mesh-checks';

export interface WorkloadsChartProps {
  /** The Istio profile whose templates the workloads and the gateway ask for. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that gives the workloads and the gateway their IDs. */
  readonly identity: ClusterSpiffeId;
  /** @default "demo" */
  readonly namespace?: string;
  /** @default "istio-ingress" */
  readonly gatewayNamespace?: string;
}

/** Images of the demo client and server. */
export const DEMO_IMAGES = {
  curl: 'docker.io/curlimages/curl:8.11.1',
  httpbin: 'docker.io/mccutchen/go-httpbin:v2.15.0',
} as const;

/**
 * Apply stage 5: the ingress gateway and a demo pair of SPIRE-enabled
 * workloads, a `sleep` client and an `httpbin` server, in injection-enabled
 * namespaces.
 */
export class WorkloadsChart extends Chart {
  public readonly sleep: SpireEnabledWorkload;
  public readonly httpbin: SpireEnabledWorkload;
  public readonly gateway: IstioIngressGateway;

  constructor(scope: Construct, id: string, props: WorkloadsChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const mesh = { profile: props.profile, identity: props.identity };
    const gatewayNamespace = injectionEnabledNamespace(this, 'GatewayNamespace', props.gatewayNamespace ?? 'istio-ingress');
    this.gateway = new IstioIngressGateway(this, 'IngressGateway', { ...mesh, namespace: gatewayNamespace });

    const namespace = injectionEnabledNamespace(this, 'DemoNamespace', props.namespace ?? 'demo');
    this.sleep = new SpireEnabledWorkload(this, 'Sleep', {
      ...mesh,
      namespace,
      name: 'sleep',
      image: DEMO_IMAGES.curl,
      command: ['/bin/sleep', 'infinity'],
    });
    this.httpbin = new SpireEnabledWorkload(this, 'Httpbin', {
      ...mesh,
      namespace,
      name: 'httpbin',
      image: DEMO_IMAGES.httpbin,
      port: 8080,
    });
  }
}
