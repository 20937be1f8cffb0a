import { Construct, IConstruct } from 'constructs';
import type { Metrics } from '../../config/metrics';
import type { UpstreamAuthority } from '../../config/upstream-authority';
import type { PropKind } from '../../validation/required';
import type { Problem } from '../../validation/rules';

/**
 * A SPIRE server as the constructs that depend on it read it: the agent, the
 * identities (ClusterSpiffeId, ClusterStaticEntry, ClusterFederatedTrustDomain)
 * and the OIDC discovery provider. SpireServer is one; a server installed
 * elsewhere can be another.
 */
export interface ISpireServer extends IConstruct {
  /** Trust domain of every SPIFFE ID the server signs, e.g. `example.org`. */
  readonly trustDomain: string;
  /** Name of this Kubernetes cluster in SPIRE (`k8s_psat` cluster, controller manager `clusterName`). */
  readonly clusterName: string;
  /** DNS domain of the cluster's Services, e.g. `cluster.local`. */
  readonly clusterDomain: string;
  /** Namespace the server runs in. */
  readonly namespace: string;
  /** Name of the Service agents connect to. */
  readonly serviceName: string;
  /** In-cluster DNS name agents dial. */
  readonly address: string;
  /** Port agents dial. */
  readonly port: number;
  /** The controller manager's class; every ClusterSPIFFEID, ClusterStaticEntry and ClusterFederatedTrustDomain carries it. */
  readonly className: string;
  /** Audience of the projected token agents present for `k8s_psat` attestation. */
  readonly psatAudience: string;
  /** Name of the service account the server runs as, in its namespace; it publishes the trust bundle to the agents. */
  readonly serviceAccountName: string;
  /** Lifetime of the server's signing CA (Go duration); agents weigh their availability target against it. */
  readonly caTtl: string;
  /** Default lifetime of the X.509 SVIDs the server signs (Go duration). */
  readonly x509SvidTtl: string;
  /** The spire-server image, which agents must not be newer than. */
  readonly image: string;
  /** Namespaces (RE2 patterns, matched anywhere in the name) whose pods the controller manager never registers. */
  readonly ignoreNamespaces: string[];
  /** Prometheus metrics of the server, which agents follow unless they set their own. */
  readonly metrics: Metrics;
  /** The registry the default images come from instead of their own, when set. */
  readonly imageRegistry?: string;
  /** The `iss` claim of the JWT-SVIDs the server signs, when set. */
  readonly jwtIssuer?: string;
  /** The CA that signs the server's CA; undefined when it is self-signed. */
  readonly upstreamAuthority?: UpstreamAuthority;
  /** Whether the server signs no JWT-SVIDs; undefined: it signs them. */
  readonly jwtSvidsDisabled?: boolean;
}

const REFERENCE_STRINGS = ['trustDomain', 'clusterName', 'clusterDomain', 'namespace', 'serviceName', 'address', 'className', 'psatAudience', 'serviceAccountName'];

/** Whether a value is an ISpireServer: a construct with what consumers read of a server. */
export function isSpireServer(value: unknown): value is ISpireServer {
  if (!Construct.isConstruct(value)) return false;
  const candidate = value as unknown as Record<string, unknown>;
  return REFERENCE_STRINGS.every((name) => typeof candidate[name] === 'string') && typeof candidate.port === 'number';
}

/** What a `server` prop must be, for the check of required props that JavaScript and Python callers pass. */
export const SPIRE_SERVER_KIND: PropKind = { name: 'SpireServer', is: isSpireServer };

/** What needs JWT-SVIDs, refused when the server signs none; `what` says what needs them, `instead` the other fix. */
export function checkServerSignsJwtSvids(server: ISpireServer, value: string, what: string, instead = 'leave this setting out'): Problem | undefined {
  if (!server.jwtSvidsDisabled) return undefined;
  return {
    value,
    rule: `${what} needs JWT-SVIDs, but server ${server.node.path} has disableJwtSvids set and signs none`,
    fix: `leave disableJwtSvids out on the server, or ${instead}`,
  };
}
