import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import type { IstioIngressGateway } from '../constructs/istio-ingress-gateway';
import type { MeshNamespace } from '../constructs/mesh-namespace';
import type { SpireEnabledWorkload } from '../constructs/spire-enabled-workload';
import { Problem } from '../validation/rules';
import { issuedSpiffeIds, objectPodView, spireEnabledPods } from './spire-identity';

const SPIFFE_SCHEME = 'spiffe://';

/**
 * Pods a workload lets in, known by the SPIFFE ID a ClusterSPIFFEID of the
 * app issues to them: Istio sees that ID as the peer principal of their mTLS
 * connections.
 */
export class Caller {
  /** The pods of a SPIRE-enabled workload. */
  public static workload(workload: SpireEnabledWorkload): Caller {
    return new Caller(workload.namespace, workload.serviceAccount.name, `workload ${workload.node.path}`, () => [ApiObject.of(workload.deployment)]);
  }

  /** The pods of an ingress gateway, so that its routes to the workload keep working. */
  public static ingressGateway(gateway: IstioIngressGateway): Caller {
    return new Caller(gateway.namespace, gateway.serviceAccount.name, `ingress gateway ${gateway.node.path}`, () => [ApiObject.of(gateway.deployment)]);
  }

  /** Every SPIRE-enabled pod of the app that runs as this service account, e.g. of workloads loaded with an Include. */
  public static serviceAccount(namespace: MeshNamespace, name: string): Caller {
    return new Caller(namespace, name, `service account ${namespace.name}/${name}`, (scope) => spireEnabledPods(scope)
      .map(({ apiObject }) => apiObject)
      .filter((apiObject) => {
        const pod = objectPodView(apiObject);
        return pod.namespace === namespace.name && pod.serviceAccountName === name;
      }));
  }

  /** The namespace the caller's pods run in. */
  public readonly namespace: MeshNamespace;
  /** The service account the caller's pods run as. */
  public readonly serviceAccountName: string;
  /** What the caller is, as messages name it. */
  public readonly description: string;

  private constructor(namespace: MeshNamespace, serviceAccountName: string, description: string, private readonly podOwners: (scope: IConstruct) => ApiObject[]) {
    this.namespace = namespace;
    this.serviceAccountName = serviceAccountName;
    this.description = description;
  }

  /**
   * The caller's ID in a trust domain, in Istio's principal form
   * `<trust domain>/ns/<namespace>/sa/<service account>`: the SPIFFE ID
   * without `spiffe://`.
   */
  public principalIn(trustDomain: string): string {
    return `${trustDomain}/ns/${this.namespace.name}/sa/${this.serviceAccountName}`;
  }

  /**
   * Why the principal is not the ID the app's ClusterSPIFFEIDs issue to each
   * of the caller's pods, if it is not.
   * @internal
   */
  public _issuanceProblem(scope: IConstruct, principal: string): Problem | undefined {
    const spiffeId = `${SPIFFE_SCHEME}${principal}`;
    const owners = this.podOwners(scope);
    if (owners.length === 0) {
      return {
        value: `${this.description} (${spiffeId})`,
        rule: 'no SPIRE-enabled workload of the app runs as this service account, so no ClusterSPIFFEID issues the ID',
        fix: 'give the workload that runs as it a SPIRE identity (SpireEnabledWorkload.enable or enableIncluded), or name the service account it runs as',
      };
    }
    for (const owner of owners) {
      const issued = [...issuedSpiffeIds(scope, objectPodView(owner), this.namespace).keys()];
      if (issued.includes(spiffeId)) continue;
      return {
        value: `${this.description} (${spiffeId})`,
        rule: `no ClusterSPIFFEID of the app issues this ID to the pods of ${owner.kind} ${owner.metadata.namespace}/${owner.name}: ${issued.length === 0 ? 'none selects them' : `they get ${issued.join(', ')}`}`,
        fix: `select the pods with a ClusterSpiffeId of trust domain ${principal.split('/')[0]} whose template is ClusterSpiffeId.ISTIO_SPIFFE_ID_TEMPLATE, or allow a caller whose pods have one`,
      };
    }
    return undefined;
  }
}
