import { requireProps } from '../validation/required';
import { LogLevel } from './spire-config';
import { LogFormat } from './log-format';

/** The Workload API the provider reads the JWT signing keys from. */
export interface WorkloadApiSource {
  /** Path of the Workload API socket in the provider's container. */
  readonly socketPath: string;
  /** Trust domain whose JWT bundle is served. */
  readonly trustDomain: string;
}

/** A file holding a trust bundle in SPIFFE format, which the provider reads the keys from. */
export interface BundleFileSource {
  /** Path of the file in the provider's container. */
  readonly path: string;
}

/** A ConfigMap key of the provider's namespace, mounted as a file. */
export interface ConfigMapKeyRef {
  /** Name of the ConfigMap, in the provider's namespace. */
  readonly name: string;
  /** Key whose value is the file. */
  readonly key: string;
}

/** Where the OIDC Discovery Provider reads the JWT signing keys it serves. */
export class OidcKeySource {
  /**
   * The Workload API of the node's agent, through the socket the SPIFFE CSI
   * driver mounts; the provider's pods get an identity from a ClusterSPIFFEID.
   */
  public static workloadApi(): OidcKeySource {
    return new OidcKeySource();
  }

  /**
   * A trust bundle in SPIFFE format (`spire-server bundle show -format
   * spiffe`, or what a `k8s_configmap` bundle publisher with format `spiffe`
   * writes) in a ConfigMap key of the provider's namespace, which the provider
   * reads again every 10 seconds (its `file` source). Its pods then need no
   * SPIFFE CSI driver and no identity; whatever keeps the ConfigMap current
   * must do so before the server signs with a new key.
   */
  public static bundleConfigMap(configMap: ConfigMapKeyRef): OidcKeySource {
    requireProps('OidcKeySource.bundleConfigMap', configMap, [
      ['name', 'string', 'the ConfigMap in the provider\'s namespace that holds the bundle'],
      ['key', 'string', 'the key that holds the bundle in SPIFFE format, e.g. "bundle.spiffe"'],
    ]);
    return new OidcKeySource(configMap);
  }

  /**
   * @param bundle the ConfigMap key holding the bundle; undefined for the Workload API
   */
  private constructor(public readonly bundle?: ConfigMapKeyRef) {}
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
  /** Exactly one of `workloadApi` and `file` is the source of the keys. */
  readonly workloadApi?: WorkloadApiSource;
  readonly file?: BundleFileSource;
  /** Whether every served key carries `"use": "sig"`. */
  readonly setKeyUse: boolean;
  readonly health: ProviderHealthChecks;
  readonly logLevel: LogLevel;
  /** Undefined: the provider's own, text. */
  readonly logFormat?: LogFormat;
  /** The issuer the discovery document names; undefined: `https://<requested host>`. */
  readonly jwtIssuer?: string;
  /** The keys' URL the document names; undefined: `<issuer>/keys`. */
  readonly jwksUri?: string;
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
    ...(model.logFormat === undefined ? {} : { log_format: model.logFormat }),
    domains: model.domains,
    insecure_addr: model.insecureAddress,
    jwt_issuer: model.jwtIssuer,
    jwks_uri: model.jwksUri,
    server_path_prefix: model.serverPathPrefix,
    ...(model.setKeyUse ? { set_key_use: true } : {}),
    ...(model.workloadApi === undefined ? {} : {
      workload_api: {
        socket_path: model.workloadApi.socketPath,
        trust_domain: model.workloadApi.trustDomain,
      },
    }),
    ...(model.file === undefined ? {} : { file: { path: model.file.path } }),
    health_checks: {
      bind_port: model.health.port,
      live_path: model.health.livePath,
      ready_path: model.health.readyPath,
    },
  };
}
