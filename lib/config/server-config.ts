import { BundleEndpointModel, renderFederation } from './federation-config';
import { PrometheusEndpoint } from './metrics';
import { CaKeyType, CaSubject, KeyManager, renderCaSubject } from './key-manager';
import { HealthChecks, LogLevel, plugin, renderHealthChecks, renderTelemetry } from './spire-config';
import { requireProps } from '../validation/required';

/** Trust bundle formats SPIRE writes and reads. */
export enum BundleFormat {
  PEM = 'pem',
  SPIFFE = 'spiffe',
}

/** Where the server publishes its trust bundle for the agents to bootstrap from. */
export interface TrustBundleRef {
  readonly namespace: string;
  readonly configMapName: string;
  readonly key: string;
  /** Format the server writes and the agent reads (`trust_bundle_format`). */
  readonly format: BundleFormat;
}

/** SQL databases SPIRE's `sql` datastore reaches over the network. */
export enum DatabaseType {
  POSTGRES = 'postgres',
  MYSQL = 'mysql',
}

/** One key of a Kubernetes Secret. */
export interface SecretKeyRef {
  /** Name of the Secret, in the server's namespace. */
  readonly name: string;
  /** Key whose value is used. */
  readonly key: string;
}

/** Checks a Secret key reference passed to a factory: both fields set, as strings. */
export function requireSecretKeyRef(factory: string, prop: string, ref: SecretKeyRef): void {
  requireProps(factory, { [prop]: ref }, [[prop, 'object', 'a SecretKeyRef, { name, key }']]);
  requireProps(`${factory} ${prop}`, ref, [
    ['name', 'string', 'the name of the Secret'],
    ['key', 'string', 'the key of the Secret that holds the value'],
  ]);
}

/** Where the SPIRE server keeps registrations, agents and bundles. */
export class ServerDatastore {
  /** sqlite on each replica's own volume; only one replica can use it. */
  public static sqlite(): ServerDatastore {
    return new ServerDatastore();
  }

  /**
   * An external SQL database. The full connection string is read from a Secret
   * key and reaches SPIRE as an environment variable, so no secret lands in a
   * ConfigMap.
   */
  public static external(databaseType: DatabaseType, connectionStringSecret: SecretKeyRef): ServerDatastore {
    requireProps('ServerDatastore.external', { databaseType }, [['databaseType', 'string', 'DatabaseType.POSTGRES or DatabaseType.MYSQL']]);
    requireSecretKeyRef('ServerDatastore.external', 'connectionStringSecret', connectionStringSecret);
    return new ServerDatastore(databaseType, connectionStringSecret);
  }

  /** The external database type; undefined for sqlite. */
  public readonly databaseType?: DatabaseType;
  /** The Secret key holding the connection string; undefined for sqlite. */
  public readonly connectionStringSecret?: SecretKeyRef;

  private constructor(databaseType?: DatabaseType, connectionStringSecret?: SecretKeyRef) {
    this.databaseType = databaseType;
    this.connectionStringSecret = connectionStringSecret;
  }

  /** Whether the data lives on the replica's own volume. */
  public get isSqlite(): boolean {
    return this.databaseType === undefined;
  }
}

/** A service account, qualified by namespace, as the `k8s_psat` allow-list spells it. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The server's datastore: sqlite on the server's volume (one replica only), or
 * an external SQL database whose connection string SPIRE expands from an
 * environment variable at start (`-expandEnv`), so no secret lands in a ConfigMap.
 */
export interface DatastoreModel {
  /** Undefined for sqlite. */
  readonly databaseType?: DatabaseType;
  /** The variable holding the connection string of an external database. */
  readonly connectionStringEnv: string;
}

export interface ServerConfigModel {
  readonly datastore: DatastoreModel;
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly bindPort: number;
  readonly apiSocketPath: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly caTtl: string;
  readonly x509SvidTtl: string;
  /** Undefined: SPIRE's own default JWT-SVID lifetime. */
  readonly jwtSvidTtl?: string;
  /** Undefined: JWT-SVIDs carry no `iss` claim. */
  readonly jwtIssuer?: string;
  readonly keyManager: KeyManager;
  /** Where the key manager's policy document is mounted, when it has one. */
  readonly keyPolicyFile: string;
  /** Undefined: SPIRE's default (ec-p256). */
  readonly caKeyType?: CaKeyType;
  /** Undefined: SPIRE's default subject. */
  readonly caSubject?: CaSubject;
  readonly agentServiceAccount: ServiceAccountRef;
  readonly psatAudience: string;
  readonly bundle: TrustBundleRef;
  readonly health: HealthChecks;
  /** Undefined: no metrics endpoint. */
  readonly prometheus?: PrometheusEndpoint;
  /** Undefined: the server's CA is self-signed. */
  readonly upstreamAuthority?: UpstreamAuthorityPlugin;
  /** Undefined: no federation bundle endpoint. */
  readonly bundleEndpoint?: BundleEndpointModel;
}

/** The server's UpstreamAuthority plugin, as `server.conf` names and configures it. */
export interface UpstreamAuthorityPlugin {
  readonly pluginName: string;
  readonly pluginData: object;
}

/** The server's `server.conf`, as JSON that SPIRE reads as HCL. */
export function renderServerConfig(model: ServerConfigModel): object {
  return {
    server: {
      bind_address: '0.0.0.0',
      bind_port: String(model.bindPort),
      socket_path: model.apiSocketPath,
      trust_domain: model.trustDomain,
      data_dir: model.dataDir,
      log_level: model.logLevel,
      ca_ttl: model.caTtl,
      default_x509_svid_ttl: model.x509SvidTtl,
      default_jwt_svid_ttl: model.jwtSvidTtl,
      jwt_issuer: model.jwtIssuer,
      ...(model.caKeyType === undefined ? {} : { ca_key_type: model.caKeyType }),
      ...(model.caSubject === undefined ? {} : { ca_subject: renderCaSubject(model.caSubject) }),
      ...(model.bundleEndpoint === undefined ? {} : renderFederation(model.bundleEndpoint)),
    },
    plugins: {
      DataStore: plugin('sql', renderDatastore(model.datastore, model.dataDir)),
      KeyManager: model.keyManager._render(model.dataDir, model.keyPolicyFile),
      NodeAttestor: plugin('k8s_psat', {
        clusters: {
          [model.clusterName]: {
            service_account_allow_list: [`${model.agentServiceAccount.namespace}:${model.agentServiceAccount.name}`],
            audience: [model.psatAudience],
          },
        },
      }),
      // k8s_configmap replaces the deprecated k8sbundle notifier.
      BundlePublisher: plugin('k8s_configmap', {
        clusters: {
          [model.clusterName]: {
            namespace: model.bundle.namespace,
            configmap_name: model.bundle.configMapName,
            configmap_key: model.bundle.key,
            format: model.bundle.format,
          },
        },
      }),
      ...renderUpstreamAuthority(model.upstreamAuthority),
    },
    health_checks: renderHealthChecks(model.health),
    ...renderTelemetry(model.prometheus),
  };
}

function renderDatastore(datastore: DatastoreModel, dataDir: string): object {
  if (datastore.databaseType === undefined) {
    return { database_type: 'sqlite3', connection_string: `${dataDir}/datastore.sqlite3` };
  }
  return { database_type: datastore.databaseType, connection_string: `\${${datastore.connectionStringEnv}}` };
}

function renderUpstreamAuthority(upstream: UpstreamAuthorityPlugin | undefined): object {
  if (upstream === undefined) return {};
  return { UpstreamAuthority: plugin(upstream.pluginName, upstream.pluginData) };
}
