import { Construct, IConstruct } from 'constructs';
import {
  DestinationRule, DestinationRuleSpecTrafficPolicyTlsMode, ServiceEntry, ServiceEntrySpecLocation, ServiceEntrySpecResolution,
} from '../../imports/networking.istio.io';
import { ISTIO_TLS_MODE_LABEL } from '../istio/names';
import { checkDnsLabel, checkDnsSubdomain, checkPort, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { ClusterFederatedTrustDomain } from './cluster-federated-trust-domain';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { SpireEnabledWorkload } from './spire-enabled-workload';
import { requireProps } from '../validation/required';

export interface PartnerServiceProps {
  /** The Istio profile of the mesh; ServiceEntry and DestinationRule are Istio CRDs. */
  readonly profile: IstioSpireProfile;
  /** The callers' namespace; the ServiceEntry and DestinationRule are visible there only. */
  readonly namespace: MeshNamespace;
  /** Name of the ServiceEntry and the DestinationRule. */
  readonly name: string;
  /** The partner trust domain the workload called belongs to. */
  readonly partner: ClusterFederatedTrustDomain;
  /** The workload's namespace in the partner's cluster. */
  readonly partnerNamespace: string;
  /** The workload's service account in the partner's cluster: with the namespace, its SPIFFE ID. */
  readonly partnerServiceAccount: string;
  /** The host name callers dial; it must resolve to where the partner exposes the workload's pods. */
  readonly host: string;
  /** The HTTP port callers dial, which the partner's pods listen on. */
  readonly port: number;
  /** The workloads that call it; their identities must federate with the partner. */
  readonly callers: SpireEnabledWorkload[];
}

/**
 * A workload of a federated trust domain, called over mTLS that keeps the
 * caller's identity: a MESH_INTERNAL ServiceEntry whose endpoint carries
 * `security.istio.io/tlsMode: istio`, and a DestinationRule with
 * ISTIO_MUTUAL that accepts only the partner workload's SPIFFE ID. The
 * caller's sidecar opens the mTLS connection straight to the partner pod's
 * sidecar, so the partner's policies see the caller's own ID, not a gateway's.
 */
export class PartnerService extends Construct implements IApplyStaged {
  /** Every PartnerService of the app that holds `scope`. */
  public static allIn(scope: IConstruct): PartnerService[] {
    return scope.node.root.node.findAll().filter((construct): construct is PartnerService => construct instanceof PartnerService);
  }

  public readonly profile: IstioSpireProfile;
  /** Its ServiceEntry and DestinationRule are Istio CRDs. */
  public readonly applyStage = ApplyStage.WORKLOADS;
  /** The SPIFFE ID the partner workload must present. */
  public readonly spiffeId: string;
  public readonly host: string;

  private readonly props: PartnerServiceProps;

  constructor(scope: Construct, id: string, props: PartnerServiceProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['profile', IstioSpireProfile, 'the IstioSpireProfile, e.g. mesh.profile'],
      ['namespace', MeshNamespace, 'the callers\' MeshNamespace'],
      ['name', 'string', 'the name of the ServiceEntry and DestinationRule'],
      ['partner', ClusterFederatedTrustDomain, 'the ClusterFederatedTrustDomain of the partner, e.g. mesh.federateWith(...)'],
      ['partnerNamespace', 'string', 'the partner workload\'s namespace'],
      ['partnerServiceAccount', 'string', 'the partner workload\'s service account'],
      ['host', 'string', 'the host the callers dial, e.g. "httpbin.demo.west.example.org"'],
      ['port', 'number', 'the port the partner serves on'],
      ['callers', 'array', 'the SpireEnabledWorkloads that call the partner'],
    ]);
    this.props = props;
    this.profile = props.profile;
    this.host = props.host;
    this.spiffeId = `spiffe://${props.partner.trustDomain}/ns/${props.partnerNamespace}/sa/${props.partnerServiceAccount}`;
    const metadata = { name: props.name, namespace: props.namespace.name };
    const exportTo = ['.'];
    new ServiceEntry(this, 'ServiceEntry', {
      metadata,
      spec: {
        hosts: [props.host],
        location: ServiceEntrySpecLocation.MESH_UNDERSCORE_INTERNAL,
        resolution: ServiceEntrySpecResolution.DNS,
        ports: [{ number: props.port, name: 'http', protocol: 'HTTP' }],
        endpoints: [{ address: props.host, labels: { [ISTIO_TLS_MODE_LABEL]: 'istio' } }],
        exportTo,
      },
    });
    new DestinationRule(this, 'DestinationRule', {
      metadata,
      spec: {
        host: props.host,
        exportTo,
        trafficPolicy: { tls: { mode: DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL, subjectAltNames: [this.spiffeId] } },
      },
    });
    validateAtSynth(this, () => this.checks());
    ApplyStages.declare(this);
  }

  /** The Istio profile: installing Istio creates the ServiceEntry and DestinationRule kinds. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.profile, reason: 'its ServiceEntry and DestinationRule are Istio CRDs, which installing Istio creates' }];
  }

  private checks(): Check[] {
    const props = this.props;
    return [
      ['name', checkDnsSubdomain(props.name)],
      ['host', checkDnsSubdomain(props.host)],
      ['port', checkPort(props.port)],
      ['partnerNamespace', checkDnsLabel(props.partnerNamespace)],
      ['partnerServiceAccount', checkDnsSubdomain(props.partnerServiceAccount)],
      ['callers', props.callers.length > 0 ? undefined : { value: '[]', rule: 'the ServiceEntry serves no workload of the app', fix: 'name the workloads that call the partner' }],
      ...props.callers.map((caller): Check => ['callers', this.checkCaller(caller)]),
    ];
  }

  private checkCaller(caller: SpireEnabledWorkload): Problem | undefined {
    const trustDomain = this.props.partner.trustDomain;
    if (caller.namespace !== this.props.namespace) {
      return {
        value: caller.node.path,
        rule: `it runs in namespace ${caller.namespace.name}, but the ServiceEntry and DestinationRule are visible in ${this.props.namespace.name} only`,
        fix: `create the PartnerService in namespace ${caller.namespace.name}`,
      };
    }
    if (caller.identity.federatesWith.some((domain) => domain.trustDomain === trustDomain)) return undefined;
    return {
      value: caller.node.path,
      rule: `its ClusterSPIFFEID ${caller.identity.name} does not federate with ${trustDomain}, so its proxy cannot validate the partner workload's certificate`,
      fix: `give it an identity that federates with ${trustDomain} (SpireIstioMesh.addFederatedIdentity)`,
    };
  }
}
