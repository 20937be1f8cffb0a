import { Chart, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import {
  ClusterFederatedTrustDomain as ClusterFederatedTrustDomainResource,
  ClusterFederatedTrustDomainSpecBundleEndpointProfileType as ProfileTypeSpec,
} from '../../imports/spire.spiffe.io';
import { FederationPartner, FederationProfileType, PartnerBundle } from '../config/federation-config';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { registerLayoutChecks } from '../mesh/layout-checks';
import { checkBundleEndpointUrl, checkDnsSubdomain, checkFederatedTrustDomain, checkSpiffeId, ONLY_PARTNER_SERVER_ENDPOINTS, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { type ISpireServer, SPIRE_SERVER_KIND } from './spire-server/reference';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

/** Settings of a ClusterFederatedTrustDomain besides its server and partner. */
export interface ClusterFederatedTrustDomainOptions {
  /** Name of the cluster-scoped resource. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /**
   * The partner's bundle, which the resource carries (`trustDomainBundle`):
   * the server holds it from the start, so identities may federate with the
   * partner in the same stage, and the `https_spiffe` profile authenticates
   * the first fetch with it; afterwards the server keeps it current.
   * @default the partner's own (`FederationPartner.bundle`); without one, it must be set with `spire-server bundle set` before any identity federates with the partner
   */
  readonly bundle?: PartnerBundle;
}

export interface ClusterFederatedTrustDomainProps extends ClusterFederatedTrustDomainOptions {
  /** The local server whose controller manager creates the federation relationship; its class is used. */
  readonly server: ISpireServer;
  /**
   * The trust domain federated with, and how its bundle endpoint is reached
   * and authenticated. For a partner this app also defines, pass its server's
   * `federationPartner`.
   */
  readonly partner: FederationPartner;
}

/**
 * A ClusterFederatedTrustDomain: tells the SPIRE Controller Manager to keep a
 * federation relationship in its server, so that the server fetches the
 * partner trust domain's bundle from its bundle endpoint. Workloads get that
 * bundle when their ClusterSpiffeId or ClusterStaticEntry lists this construct
 * in `federatesWith`. Its `className` is always the server's.
 */
export class ClusterFederatedTrustDomain extends Construct implements IApplyStaged {
  /** The ClusterFederatedTrustDomains a server reconciles, in creation order. */
  public static of(server: ISpireServer): ClusterFederatedTrustDomain[] {
    return ClusterFederatedTrustDomain.byServer.get(server) ?? [];
  }

  /** Every ClusterFederatedTrustDomain in the app that holds `scope`. */
  public static allIn(scope: IConstruct): ClusterFederatedTrustDomain[] {
    return scope.node.root.node.findAll().filter((construct): construct is ClusterFederatedTrustDomain => construct instanceof ClusterFederatedTrustDomain);
  }

  private static readonly byServer = new WeakMap<ISpireServer, ClusterFederatedTrustDomain[]>();

  public readonly name: string;
  public readonly server: ISpireServer;
  public readonly partner: FederationPartner;
  /** The partner's trust domain, the value `federatesWith` lists. */
  public readonly trustDomain: string;
  /** The partner's bundle the resource carries; undefined when it must be set by hand. */
  public readonly bundle?: PartnerBundle;
  /** The controller manager's webhook admits it, so SPIRE runs first. */
  public readonly applyStage = ApplyStage.IDENTITIES;


  constructor(scope: Construct, id: string, props: ClusterFederatedTrustDomainProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['server', SPIRE_SERVER_KIND, 'the SpireServer that federates'],
      ['partner', 'object', 'the partner\'s FederationPartner, e.g. partnerServer.federationPartner'],
    ]);
    this.server = props.server;
    this.partner = props.partner;
    this.trustDomain = props.partner.trustDomain;
    this.bundle = props.bundle ?? props.partner.bundle;
    this.name = props.name ?? defaultName(this);
    ClusterFederatedTrustDomain.byServer.set(this.server, [...ClusterFederatedTrustDomain.of(this.server), this]);

    new ClusterFederatedTrustDomainResource(this, 'Resource', {
      metadata: { name: this.name },
      spec: {
        className: this.server.className,
        trustDomain: this.trustDomain,
        bundleEndpointUrl: this.partner.bundleEndpointUrl,
        bundleEndpointProfile: {
          type: this.partner.profile === FederationProfileType.HTTPS_SPIFFE ? ProfileTypeSpec.HTTPS_UNDERSCORE_SPIFFE : ProfileTypeSpec.HTTPS_UNDERSCORE_WEB,
          endpointSpiffeid: this.partner.endpointSpiffeId,
        },
        trustDomainBundle: Lazy.any({ produce: () => this.bundle?._read().json }),
      },
    });
    validateAtSynth(this, () => this.checks());
    ApplyStages.declare(this);
    registerLayoutChecks(this);
  }

  /** The server, whose controller manager admits it. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.server, reason: 'the SPIRE controller manager\'s webhook admits ClusterFederatedTrustDomains, so SPIRE must run first' }];
  }

  private checks(): Check[] {
    const partnerTrustDomain = checkFederatedTrustDomain(this.trustDomain, this.server.trustDomain);
    return [
      ['name', checkDnsSubdomain(this.name)],
      ['partner.trustDomain', partnerTrustDomain],
      ['partner.trustDomain', this.checkDeclaredOnce()],
      ['partner.bundleEndpointUrl', checkBundleEndpointUrl(this.partner.bundleEndpointUrl)],
      // With an invalid partner trust domain that check reports the cause.
      ['partner.endpointSpiffeId', partnerTrustDomain ? undefined : this.checkEndpointSpiffeId()],
      ['bundle', this.bundle?._read().problem],
    ];
  }

  private checkDeclaredOnce(): Problem | undefined {
    const first = ClusterFederatedTrustDomain.of(this.server).find((other) => other.trustDomain === this.trustDomain);
    if (first === this || first === undefined) return undefined;
    return {
      value: this.trustDomain,
      rule: `${first.node.path} declares this trust domain for the same server already; the controller manager keeps one relationship per trust domain`,
      fix: 'declare each partner trust domain once and list that construct wherever it is needed',
    };
  }

  private checkEndpointSpiffeId(): Problem | undefined {
    const id = this.partner.endpointSpiffeId;
    if (this.partner.profile === FederationProfileType.HTTPS_WEB) {
      return id === undefined ? undefined : {
        value: id,
        rule: 'the https_web profile authenticates the endpoint by its Web PKI certificate, so an endpoint SPIFFE ID is never checked',
        fix: 'leave endpointSpiffeId out, or use the https_spiffe profile',
      };
    }
    if (id === undefined) {
      return {
        value: '',
        rule: 'the https_spiffe profile authenticates the endpoint by its SPIFFE ID, which is missing',
        fix: `set it to the partner server's ID, e.g. "spiffe://${this.trustDomain}/spire/server" (SpireServer.federationPartner does)`,
      };
    }
    return checkSpiffeId(id, this.trustDomain, `the partner's: ${ONLY_PARTNER_SERVER_ENDPOINTS}`);
  }
}

/** The trust domain names a `federatesWith` field lists; none gives no field. */
export function federatedTrustDomainNames(domains: ClusterFederatedTrustDomain[]): string[] | undefined {
  return domains.length === 0 ? undefined : domains.map((domain) => domain.trustDomain);
}

/**
 * SPIRE refuses an entry that federates with a trust domain whose bundle it
 * does not hold ("unable to find federated bundle"), so no pod of such an
 * identity gets an SVID. The bundle is held from the start when the
 * ClusterFederatedTrustDomain carries it and is applied no later than the
 * identity; otherwise it is set by hand, which needs a stage boundary between
 * the declaration and the identities that federate. A domain of another
 * server is reported by the identity's own federatesWith check.
 */
export function federationPrerequisites(registration: IConstruct, domains: ClusterFederatedTrustDomain[], server: ISpireServer): ApplyPrerequisite[] {
  return domains.filter((domain) => domain.server === server).map((domain): ApplyPrerequisite => (domain.bundle !== undefined ? {
    construct: domain,
    reason: `it federates with ${domain.trustDomain}, whose bundle comes with ${domain.node.path}, which is applied later`,
    mayShareChart: true,
    fix: `apply ${Chart.of(domain).node.id} first: ${Chart.of(registration).node.id}.addDependency(${Chart.of(domain).node.id})`,
  } : {
    construct: domain,
    reason: `it federates with ${domain.trustDomain}, but no bundle of ${domain.trustDomain} is in the output, so the server does not hold it when this is applied and SPIRE refuses its entries ("unable to find federated bundle"): none of its pods gets an SVID`,
    fix: `give ${domain.node.path} the partner's bundle (bundle: PartnerBundle.fromFile, fromConfigMap or fromSpiffeJson, or the partner server's bundleEndpoint.bundle), or put the identity into a chart applied after ${Chart.of(domain).node.id} and set the bundle with \`spire-server bundle set\` in between (SpireIstioMesh.addFederatedIdentity does)`,
  }));
}

/**
 * `federatesWith` of a ClusterSpiffeId or ClusterStaticEntry: each trust
 * domain must be one the same server federates with, and not its own.
 */
export function federatesWithChecks(domains: ClusterFederatedTrustDomain[], server: ISpireServer): Check[] {
  return domains.map((domain): Check => ['federatesWith', federatesWithProblem(domain, server)]);
}

function federatesWithProblem(domain: ClusterFederatedTrustDomain, server: ISpireServer): Problem | undefined {
  if (domain.trustDomain === server.trustDomain) {
    return { value: domain.trustDomain, rule: 'a workload does not federate with its own trust domain', fix: 'remove it from federatesWith' };
  }
  if (domain.server === server) return undefined;
  return {
    value: domain.trustDomain,
    rule: `${domain.node.path} declares it for the server ${domain.server.node.path}, not this one, so this server never fetches its bundle`,
    fix: 'create a ClusterFederatedTrustDomain with `server` set to this server and list that one',
  };
}
