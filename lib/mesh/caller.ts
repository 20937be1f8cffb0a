import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { ClusterFederatedTrustDomain } from '../constructs/cluster-federated-trust-domain';
import { IstioIngressGateway } from '../constructs/istio-ingress-gateway';
import { MeshNamespace } from '../constructs/mesh-namespace';
import { SpireEnabledWorkload } from '../constructs/spire-enabled-workload';
import { requireProps } from '../validation/required';
import { checkSpiffeId, checkTrustDomain, Problem } from '../validation/rules';
import { identitiesSelecting, issuedSpiffeIds, objectPodView, spireEnabledPods } from './spire-identity';

const SPIFFE_SCHEME = 'spiffe://';

/** What a caller checks: the workload it calls, and the policy that names it. */
interface CallContext {
  readonly scope: IConstruct;
  readonly description: string;
  readonly target: SpireEnabledWorkload;
  readonly principal: string;
}

/**
 * Pods a workload lets in, known by their SPIFFE ID, which Istio sees as the
 * peer principal of their mTLS connections: in the workload's own trust
 * domain, the ID a ClusterSPIFFEID of the app issues to them.
 */
export class Caller {
  /** The pods of a SPIRE-enabled workload. */
  public static workload(workload: SpireEnabledWorkload): Caller {
    requireProps('Caller.workload', { workload }, [['workload', SpireEnabledWorkload, 'the SpireEnabledWorkload that calls']]);
    return Caller.local(workload.namespace, workload.serviceAccount.name, `workload ${workload.node.path}`, () => [workload.deployment]);
  }

  /** The pods of an ingress gateway, so that its routes to the workload keep working. */
  public static ingressGateway(gateway: IstioIngressGateway): Caller {
    requireProps('Caller.ingressGateway', { gateway }, [['gateway', IstioIngressGateway, 'the IstioIngressGateway whose routes reach the workload']]);
    return Caller.local(gateway.namespace, gateway.serviceAccount.name, `ingress gateway ${gateway.node.path}`, () => [gateway.deployment]);
  }

  /** Every SPIRE-enabled pod of the app that runs as this service account, e.g. of workloads loaded with an Include. */
  public static serviceAccount(namespace: MeshNamespace, name: string): Caller {
    requireProps('Caller.serviceAccount', { namespace, name }, [
      ['namespace', MeshNamespace, 'the MeshNamespace of the callers, e.g. MeshNamespace.lookup(scope, "shop") or the one MeshNamespace.fromName returned'],
      ['name', 'string', 'the service account\'s name, e.g. "frontend"'],
    ]);
    return Caller.local(namespace, name, `service account ${namespace.name}/${name}`, (scope) => spireEnabledPods(scope)
      .filter((apiObject) => {
        const pod = objectPodView(apiObject);
        return pod.namespace === namespace.name && pod.serviceAccountName === name;
      }));
  }

  /**
   * Workloads of another trust domain, by their SPIFFE ID. The ClusterSPIFFEIDs
   * that give the called workload its ID must federate with that trust
   * domain: only then does its proxy trust the caller's certificate.
   */
  public static spiffeId(spiffeId: string): Caller {
    requireProps('Caller.spiffeId', { spiffeId }, [['spiffeId', 'string', 'the caller\'s SPIFFE ID, e.g. "spiffe://partner.example/ns/shop/sa/client"']]);
    // An ID without the scheme fails checkFederatedId, so no policy is written with it.
    return new Caller(`SPIFFE ID ${spiffeId}`, () => spiffeId.slice(SPIFFE_SCHEME.length), (context) => checkFederatedId(spiffeId, context));
  }

  /**
   * Pods of a federated trust domain that run as a service account there, by
   * the ID Istio's template gives them: `spiffe://<partner trust
   * domain>/ns/<namespace>/sa/<service account>`. As with `spiffeId`, the
   * called workload's ClusterSPIFFEIDs must federate with the partner.
   */
  public static federated(partner: ClusterFederatedTrustDomain, namespace: string, serviceAccountName: string): Caller {
    requireProps('Caller.federated', { partner, namespace, serviceAccountName }, [
      ['partner', ClusterFederatedTrustDomain, 'the ClusterFederatedTrustDomain of the partner, e.g. mesh.federateWith(...)'],
      ['namespace', 'string', 'the partner workload\'s namespace'],
      ['serviceAccountName', 'string', 'the partner workload\'s service account'],
    ]);
    return Caller.spiffeId(`${SPIFFE_SCHEME}${partner.trustDomain}/ns/${namespace}/sa/${serviceAccountName}`);
  }

  private static local(namespace: MeshNamespace, serviceAccountName: string, description: string, podOwners: (scope: IConstruct) => ApiObject[]): Caller {
    return new Caller(description,
      (trustDomain) => `${trustDomain}/ns/${namespace.name}/sa/${serviceAccountName}`,
      (context) => checkIssued(namespace, podOwners(context.scope), context));
  }

  /** What the caller is, as messages name it. */
  public readonly description: string;

  private constructor(
    description: string,
    private readonly principalFor: (trustDomain: string) => string,
    private readonly problemWith: (context: CallContext) => Problem | undefined,
  ) {
    this.description = description;
  }

  /**
   * The caller's ID as a workload of this trust domain names it, in Istio's
   * principal form `<trust domain>/ns/<namespace>/sa/<service account>`: the
   * SPIFFE ID without `spiffe://`.
   */
  public principalIn(trustDomain: string): string {
    return this.principalFor(trustDomain);
  }

  /**
   * Why the workload cannot tell this caller by the principal, if it cannot.
   * @internal
   */
  public _problemCalling(scope: IConstruct, target: SpireEnabledWorkload, principal: string): Problem | undefined {
    return this.problemWith({ scope, target, principal, description: this.description });
  }
}

/** The principal must be the ID the app's ClusterSPIFFEIDs issue to each of the caller's pods. */
function checkIssued(namespace: MeshNamespace, owners: ApiObject[], { scope, principal, description }: CallContext): Problem | undefined {
  const spiffeId = `${SPIFFE_SCHEME}${principal}`;
  const value = `${description} (${spiffeId})`;
  if (owners.length === 0) {
    return {
      value,
      rule: 'no SPIRE-enabled workload of the app runs as this service account, so no ClusterSPIFFEID issues the ID',
      fix: 'give the workload that runs as it a SPIRE identity (SpireEnabledWorkload.enable or enableIncluded), or name the service account it runs as',
    };
  }
  for (const owner of owners) {
    const issued = [...issuedSpiffeIds(scope, objectPodView(owner), namespace).keys()];
    if (issued.includes(spiffeId)) continue;
    return {
      value,
      rule: `no ClusterSPIFFEID of the app issues this ID to the pods of ${owner.kind} ${owner.metadata.namespace}/${owner.name}: ${issued.length === 0 ? 'none selects them' : `they get ${issued.join(', ')}`}`,
      fix: `select the pods with a ClusterSpiffeId of trust domain ${principal.split('/')[0]} whose template is ClusterSpiffeId.ISTIO_SPIFFE_ID_TEMPLATE, or allow a caller whose pods have one`,
    };
  }
  return undefined;
}

/** An explicit ID must be well formed, of another trust domain, and one the called workload's ClusterSPIFFEIDs federate with. */
function checkFederatedId(spiffeId: string, { scope, target }: CallContext): Problem | undefined {
  const trustDomain = /^spiffe:\/\/([^/]*)\//.exec(spiffeId)?.[1] ?? '';
  const malformed = checkSpiffeId(spiffeId, trustDomain || '<trust domain>') ?? checkTrustDomain(trustDomain);
  if (malformed) return malformed;
  if (trustDomain === target.identity.trustDomain) {
    return {
      value: spiffeId,
      rule: `the ID is in the workload's own trust domain ${trustDomain}, where the app can check that a ClusterSPIFFEID issues it`,
      fix: 'name the caller with Caller.workload, Caller.ingressGateway or Caller.serviceAccount',
    };
  }
  const identities = identitiesSelecting(scope, objectPodView(target.deployment), target.namespace);
  const notFederating = identities.filter((identity) => !identity.federatesWith.some((domain) => domain.trustDomain === trustDomain));
  if (notFederating.length === 0) return undefined;
  return {
    value: spiffeId,
    rule: `ClusterSPIFFEID ${notFederating.map((identity) => identity.name).join(', ')} of the called workload does not federate with ${trustDomain}, so its proxy does not trust the caller's certificate`,
    fix: `federate that ClusterSpiffeId with ${trustDomain} (federatesWith)`,
  };
}
