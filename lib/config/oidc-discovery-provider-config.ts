import { LogLevel } from './spire-config';

/** The Workload API the provider reads the JWT signing keys from. */
export interface WorkloadApiSource {
  /** Path of the Workload API socket in the provider's container. */
  readonly socketPath: string;
  /** Trust domain whose JWT bundle is served. */
  readonly trustDomain: string;
}

/** The provider's own health endpoints (served on every address of the pod). */
export interface ProviderHealthChecks {
  readonly port: number;
  readonly livePath: string;
  readonly readyPath: string;
}

export interface OidcDiscoveryProviderConfigModel {
  /** Host names requests may carry (Host or X-Forwarded-Host); others are refused. */
  readonly domains: string[];
  /** Plain HTTP listener; TLS is terminated in front of the provider. */
  readonly insecureAddress: string;
  readonly workloadApi: WorkloadApiSource;
  readonly health: ProviderHealthChecks;
  readonly logLevel: LogLevel;
  /** The issuer the discovery document names; undefined: `https://<requested host>`. */
  readonly jwtIssuer?: string;
  /** Prefix of every endpoint; undefined: served at the root. */
  readonly serverPathPrefix?: string;
}

/**
 * The provider's configuration file, as JSON that it reads as HCL. Without
 * `allow_insecure_scheme` the discovery document names https URLs even though
 * the provider itself listens on plain HTTP behind a TLS-terminating proxy.
 */
export function renderOidcDiscoveryProviderConfig(model: OidcDiscoveryProviderConfigModel): object {
  return {
    log_level: model.logLevel,
    domains: model.domains,
    insecure_addr: model.insecureAddress,
    jwt_issuer: model.jwtIssuer,
    server_path_prefix: model.serverPathPrefix,
    workload_api: {
      socket_path: model.workloadApi.socketPath,
      trust_domain: model.workloadApi.trustDomain,
    },
    health_checks: {
      bind_port: model.health.port,
      live_path: model.health.livePath,
      ready_path: model.health.readyPath,
    },
  };
}
