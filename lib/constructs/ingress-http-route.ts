import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { Gateway, VirtualService } from '../../imports/networking.istio.io';
import { objectPodView } from '../mesh/spire-identity';
import { checkDnsLabel, checkExposedPort, checkRouteHost, checkSelectorMatches, Problem } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { IstioIngressGateway } from './istio-ingress-gateway';
import { SpireEnabledWorkload } from './spire-enabled-workload';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

export interface IngressHttpRouteProps {
  /** The ingress gateway that takes the requests in. */
  readonly gateway: IstioIngressGateway;
  /**
   * The host names clients send (the HTTP `Host` header): DNS names,
   * `*.` followed by a domain for its subdomains, or `*` for any.
   */
  readonly hosts: string[];
  /** The workload requests go to; its Service (set by its `port`) is the destination. */
  readonly backend: SpireEnabledWorkload;
  /** The Service port requests go to. @default the backend Service's first port */
  readonly port?: number;
  /** Name of the Gateway and the VirtualService. @default derived from the construct path, unique in the app */
  readonly name?: string;
}

/**
 * Plain HTTP from outside the mesh to one workload: an Istio `Gateway` that
 * opens the ingress gateway's HTTP port for the hosts, and a `VirtualService`
 * bound to it that sends their requests to the workload's Service. Both are
 * Istio CRDs, so they belong in a chart applied after Istio is installed, and
 * in that chart after the namespaces they live in, since kubectl applies a
 * file top to bottom.
 */
export class IngressHttpRoute extends Construct implements IApplyStaged {
  /** Every IngressHttpRoute of the app that holds `scope`. */
  public static allIn(scope: IConstruct): IngressHttpRoute[] {
    return scope.node.root.node.findAll().filter((construct): construct is IngressHttpRoute => construct instanceof IngressHttpRoute);
  }

  public readonly gateway: IstioIngressGateway;
  /** Name of the Gateway and the VirtualService. */
  public readonly name: string;
  public readonly hosts: string[];
  /** `<namespace>/<name>` of the Gateway, as VirtualServices refer to it. */
  public readonly gatewayReference: string;
  /** The backend Service's cluster-wide DNS name. */
  public readonly destinationHost: string;
  /** The Service port requests go to. */
  public readonly port: number;
  public readonly gatewayObject: ApiObject;
  /** Its Gateway and VirtualService are Istio CRDs. */
  public readonly applyStage = ApplyStage.WORKLOADS;
  public readonly virtualService: ApiObject;

  constructor(scope: Construct, id: string, props: IngressHttpRouteProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['gateway', IstioIngressGateway, 'the IstioIngressGateway that takes the requests in'],
      ['backend', SpireEnabledWorkload, 'the SpireEnabledWorkload the requests go to'],
      ['hosts', 'array', 'the host names clients send, e.g. ["shop.example.org"]'],
    ]);
    const service = props.backend.service;
    if (!service || props.backend.port === undefined) {
      throw new Error(`${this.node.path}: backend "${props.backend.node.path}" has no Service, so there is nothing to route to. Fix: give the workload a port.`);
    }
    const servicePorts = [props.backend.port];
    this.gateway = props.gateway;
    this.name = props.name ?? defaultName(this);
    this.hosts = props.hosts;
    this.port = props.port ?? servicePorts[0];
    const gatewayNamespace = props.gateway.service.metadata.namespace!;
    this.gatewayReference = `${gatewayNamespace}/${this.name}`;
    const clusterDomain = props.gateway.profile.csiDriver.agent.server.clusterDomain;
    this.destinationHost = `${service.name}.${service.metadata.namespace}.svc.${clusterDomain}`;

    this.gatewayObject = new Gateway(this, 'Gateway', {
      metadata: { name: this.name, namespace: gatewayNamespace },
      spec: {
        selector: props.gateway.selectorLabel,
        servers: [{ port: { number: props.gateway.httpPort, name: 'http', protocol: 'HTTP' }, hosts: this.hosts }],
      },
    });
    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: { name: this.name, namespace: service.metadata.namespace! },
      spec: {
        hosts: this.hosts,
        gateways: [this.gatewayReference],
        http: [{ route: [{ destination: { host: this.destinationHost, port: { number: this.port } } }] }],
      },
    });
    validateAtSynth(this, () => [
      ['name', checkDnsLabel(this.name)],
      ['hosts', this.hosts.length === 0 ? NO_HOSTS : undefined],
      ...this.hosts.map((host): [string, Problem | undefined] => ['host', checkRouteHost(host)]),
      ['port', checkExposedPort(this.port, servicePorts)],
      ['gateway selector', checkSelectorMatches(props.gateway.selectorLabel, objectPodView(props.gateway.deployment).labels)],
    ]);
    ApplyStages.declare(this);
  }

  /** The gateway's Istio profile: installing Istio creates the Gateway and VirtualService kinds. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.gateway.profile, reason: 'its Gateway and VirtualService are Istio CRDs, which installing Istio creates' }];
  }
}

const NO_HOSTS: Problem = { value: '[]', rule: 'a route without hosts matches no request', fix: 'name at least one host, e.g. "httpbin.example.org", or "*"' };
