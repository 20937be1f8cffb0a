import { BundleEndpointModel, renderFederation } from './federation-config';
import { PrometheusEndpoint } from './metrics';
import { CaKeyType, CaSubject, KeyManager, renderCaSubject } from './key-manager';
import { renderPsatLabelKeys, renderServerSettings, renderSettingsPlugins, ServerSettingsModel } from './server-settings';
import { HealthChecks, LogLevel, plugin, PluginSection, renderHealthChecks, renderTelemetry } from './spire-config';
import { requireProps } from '../validation/required';
import { checkAwsRegion } from '../validation/aws';
import { checkDnsSubdomain, checkGoDuration, Problem, secretKeyChecks } from '../validation/rules';
import { Check } from '../validation/validate';

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

/** An environment variable of the server, from a Secret key. */
export interface SecretEnvModel {
  readonly name: string;
  readonly secret: SecretKeyRef;
}

/** A Secret whose keys the server reads as files `<mountPath>/<key>`, mounted read-only; the last path segment names the volume. */
export interface SecretVolumeModel {
  readonly secretName: string;
  readonly mountPath: string;
  readonly keys: string[];
}

/** A Secret key the server reads as the file `<dir>/<key>`: its path, and the volume that puts it there. */
export function secretKeyFile(dir: string, ref: SecretKeyRef): { readonly path: string; readonly volume: SecretVolumeModel } {
  return { path: `${dir}/${ref.key}`, volume: { secretName: ref.name, mountPath: dir, keys: [ref.key] } };
}

/** A `kubernetes.io/tls` Secret the server reads as `<dir>/tls.crt` and `<dir>/tls.key`. */
export function tlsSecretFiles(dir: string, secretName: string): { readonly certPath: string; readonly keyPath: string; readonly volume: SecretVolumeModel } {
  return {
    certPath: `${dir}/${TLS_CERT_FILE}`,
    keyPath: `${dir}/${TLS_KEY_FILE}`,
    volume: { secretName, mountPath: dir, keys: [TLS_CERT_FILE, TLS_KEY_FILE] },
  };
}

/**
 * Settings of an external SQL datastore besides its connection string. The
 * pool limits apply per server replica, and again to the read-only connection
 * when there is one (SPIRE opens a second pool of the same size for it).
 *
 * The defaults fit three replicas on a small PostgreSQL: with its default
 * `max_connections = 100`, of which `superuser_reserved_connections = 3` are
 * kept for superusers, 97 remain; 3 replicas × 20 open connections = 60 at
 * most, which leaves 37 for migrations and psql sessions, a metrics exporter,
 * backups and other databases of the instance. The controller manager opens
 * none: it reaches the database through its replica's server API, so its load
 * is inside that replica's 20. A StatefulSet replaces one pod at a time and
 * deletes it before starting the next, so a rollout never adds a fourth pool.
 * SPIRE's own limits (100 open, 100 idle per replica) let three replicas open
 * 300 connections, and the database refuses clients long before that. (SPIRE's
 * limits and its fixed 30 s idle time: `openDB` in
 * `pkg/server/datastore/sqlstore/sqlstore.go`, v1.15.3.)
 */
export interface ExternalDatastoreOptions {
  /**
   * Connection string of a read-only replica (`ro_connection_string`), from a
   * Secret key like the main one; SPIRE sends read-only queries there. Count
   * its pool against the replica's `max_connections`, or twice against the
   * primary's if the string names the primary.
   * @default none: every query uses the main connection
   */
  readonly readOnlyConnectionStringSecret?: SecretKeyRef;
  /**
   * Open connections per replica and pool (`max_open_conns`); requests beyond
   * it wait for a free connection.
   * @default 20 (see the arithmetic above)
   */
  readonly maxOpenConns?: number;
  /**
   * Idle connections each pool keeps (`max_idle_conns`), at most
   * `maxOpenConns`; SPIRE closes an idle connection after 30 seconds anyway.
   * @default 10, so three idle replicas hold 30 connections rather than 60
   */
  readonly maxIdleConns?: number;
  /**
   * Longest time a connection is reused (`conn_max_lifetime`, Go duration),
   * so that a failover, a DNS change or a connection pooler's rebalancing
   * reaches every connection within it.
   * @default "30m" (SPIRE's own is unlimited)
   */
  readonly connMaxLifetime?: string;
  /**
   * Secret key holding the CA certificate (PEM) the database's TLS certificate
   * chains to (`root_ca_path`), mounted read-only. MySQL only: SPIRE ignores
   * it for PostgreSQL, whose connection string names its own (`sslrootcert`).
   * @default the system roots of the server image
   */
  readonly rootCaSecret?: SecretKeyRef;
  /**
   * `kubernetes.io/tls` Secret holding the client certificate (`tls.crt`) and
   * key (`tls.key`) SPIRE authenticates to the database with
   * (`client_cert_path`, `client_key_path`), mounted read-only. MySQL only, like `rootCaSecret`.
   * @default none
   */
  readonly clientCertSecretName?: string;
  /**
   * Leave the schema as it is (`disable_migration`): a server of a newer SPIRE
   * then refuses to start on an older schema until it is migrated, e.g. by a
   * single server run without this option, so that replicas sharing the
   * database do not migrate it while older ones still use it.
   * @default false: each server migrates the schema at start
   */
  readonly disableMigration?: boolean;
}

/** The pool limits of an external datastore, as server.conf names them. */
export interface ConnectionPoolModel {
  readonly maxOpenConns: number;
  readonly maxIdleConns: number;
  readonly connMaxLifetime: string;
}

/** Variables the server's container sets from Secrets; `-expandEnv` puts them into server.conf. */
export const DATASTORE_CONNECTION_STRING_ENV = 'SPIRE_DATASTORE_CONNECTION_STRING';
export const DATASTORE_RO_CONNECTION_STRING_ENV = 'SPIRE_DATASTORE_RO_CONNECTION_STRING';

/** Where the server finds the database's CA and client certificate from Secrets. */
const DATASTORE_ROOT_CA_DIR = '/run/spire/datastore/ca';
const DATASTORE_CLIENT_CERT_DIR = '/run/spire/datastore/client';
const TLS_CERT_FILE = 'tls.crt';
const TLS_KEY_FILE = 'tls.key';

const DEFAULT_POOL: ConnectionPoolModel = { maxOpenConns: 20, maxIdleConns: 10, connMaxLifetime: '30m' };

/** Where the SPIRE server keeps registrations, agents and bundles. */
export class ServerDatastore {
  /** sqlite on each replica's own volume; only one replica can use it. */
  public static sqlite(): ServerDatastore {
    return new ServerDatastore();
  }

  /**
   * An external SQL database. The full connection string is read from a Secret
   * key and reaches SPIRE as an environment variable, so no secret lands in a
   * ConfigMap. SPIRE pastes the variable's value into the JSON of server.conf
   * before it parses it (`-expandEnv`: `ParseFile` in
   * `cmd/spire-server/cli/run/run.go`, v1.15.3), so the Secret holds the string escaped
   * as inside a JSON string: `"` as `\"`, `\` as `\\`; a `${` in it is not
   * supported. A raw `"` stops the server at start; a raw `\` stops it too or
   * changes the string (`\n` becomes a line break).
   */
  public static external(databaseType: DatabaseType, connectionStringSecret: SecretKeyRef, options: ExternalDatastoreOptions = {}): ServerDatastore {
    requireProps('ServerDatastore.external', { databaseType }, [['databaseType', 'string', 'DatabaseType.POSTGRES or DatabaseType.MYSQL']]);
    requireSecretKeyRef('ServerDatastore.external', 'connectionStringSecret', connectionStringSecret);
    if (options.readOnlyConnectionStringSecret !== undefined) {
      requireSecretKeyRef('ServerDatastore.external', 'readOnlyConnectionStringSecret', options.readOnlyConnectionStringSecret);
    }
    if (options.rootCaSecret !== undefined) requireSecretKeyRef('ServerDatastore.external', 'rootCaSecret', options.rootCaSecret);
    return new ServerDatastore(databaseType, connectionStringSecret, options);
  }

  /**
   * An Amazon RDS database SPIRE logs in to with IAM authentication tokens
   * (`aws_postgres`, `aws_mysql`), which it creates from the AWS credentials of
   * the default chain, e.g. IAM Roles for Service Accounts set with the
   * server's `serviceAccountAnnotations`. The connection string in the Secret
   * names the database user and no password (for MySQL with
   * `allowCleartextPasswords=1&tls=true`).
   */
  public static awsIam(databaseType: DatabaseType, region: string, connectionStringSecret: SecretKeyRef, options: ExternalDatastoreOptions = {}): ServerDatastore {
    requireProps('ServerDatastore.awsIam', { databaseType, region }, [
      ['databaseType', 'string', 'DatabaseType.POSTGRES or DatabaseType.MYSQL'],
      ['region', 'string', 'the AWS region of the database, e.g. "eu-west-1"'],
    ]);
    requireSecretKeyRef('ServerDatastore.awsIam', 'connectionStringSecret', connectionStringSecret);
    return ServerDatastore.external(databaseType, connectionStringSecret, options).withAwsRegion(region);
  }

  /** The external database type; undefined for sqlite. */
  public readonly databaseType?: DatabaseType;
  /** The AWS region of an RDS database SPIRE logs in to with IAM; undefined otherwise. */
  public readonly awsRegion?: string;
  /** The Secret key holding the connection string; undefined for sqlite. */
  public readonly connectionStringSecret?: SecretKeyRef;
  /** The Secret key holding the read-only replica's connection string, when there is one. */
  public readonly readOnlyConnectionStringSecret?: SecretKeyRef;
  private readonly options: ExternalDatastoreOptions;

  private constructor(databaseType?: DatabaseType, connectionStringSecret?: SecretKeyRef, options: ExternalDatastoreOptions = {}, awsRegion?: string) {
    this.databaseType = databaseType;
    this.connectionStringSecret = connectionStringSecret;
    this.readOnlyConnectionStringSecret = options.readOnlyConnectionStringSecret;
    this.options = options;
    this.awsRegion = awsRegion;
  }

  private withAwsRegion(region: string): ServerDatastore {
    return new ServerDatastore(this.databaseType, this.connectionStringSecret, this.options, region);
  }

  /** Whether the data lives on the replica's own volume. */
  public get isSqlite(): boolean {
    return this.databaseType === undefined;
  }

  /** The pool limits of an external database; undefined for sqlite. */
  private get pool(): ConnectionPoolModel | undefined {
    if (this.isSqlite) return undefined;
    return {
      maxOpenConns: this.options.maxOpenConns ?? DEFAULT_POOL.maxOpenConns,
      maxIdleConns: this.options.maxIdleConns ?? DEFAULT_POOL.maxIdleConns,
      connMaxLifetime: this.options.connMaxLifetime ?? DEFAULT_POOL.connMaxLifetime,
    };
  }

  /**
   * What server.conf renders.
   * @internal
   */
  public _model(): DatastoreModel {
    return {
      databaseType: this.databaseType,
      connectionStringEnv: DATASTORE_CONNECTION_STRING_ENV,
      readOnlyConnectionStringEnv: this.readOnlyConnectionStringSecret === undefined ? undefined : DATASTORE_RO_CONNECTION_STRING_ENV,
      pool: this.pool,
      awsRegion: this.awsRegion,
      rootCaPath: this.rootCaFile?.path,
      clientCertPath: this.clientCertFiles?.certPath,
      clientKeyPath: this.clientCertFiles?.keyPath,
      disableMigration: this.options.disableMigration,
    };
  }

  /**
   * The database's CA and client certificate, as the server mounts them.
   * @internal
   */
  public _secretVolumes(): SecretVolumeModel[] {
    return [this.rootCaFile?.volume, this.clientCertFiles?.volume].filter((volume): volume is SecretVolumeModel => volume !== undefined);
  }

  private get rootCaFile() {
    const ref = this.options.rootCaSecret;
    return ref === undefined ? undefined : secretKeyFile(DATASTORE_ROOT_CA_DIR, ref);
  }

  private get clientCertFiles() {
    const name = this.options.clientCertSecretName;
    return name === undefined ? undefined : tlsSecretFiles(DATASTORE_CLIENT_CERT_DIR, name);
  }

  /**
   * The server's variables from Secrets: the connection strings.
   * @internal
   */
  public _secretEnv(): SecretEnvModel[] {
    return [
      ...(this.connectionStringSecret === undefined ? [] : [{ name: DATASTORE_CONNECTION_STRING_ENV, secret: this.connectionStringSecret }]),
      ...(this.readOnlyConnectionStringSecret === undefined ? [] : [{ name: DATASTORE_RO_CONNECTION_STRING_ENV, secret: this.readOnlyConnectionStringSecret }]),
    ];
  }

  /**
   * The checks of the Secret references and pool limits, each named by its option.
   * @internal
   */
  public _checks(): Check[] {
    const main = this.connectionStringSecret;
    const readOnly = this.readOnlyConnectionStringSecret;
    const pool = this.pool;
    if (main === undefined || pool === undefined) return [];
    return [
      ...secretKeyChecks('connectionStringSecret', main),
      ...(readOnly === undefined ? [] : secretKeyChecks('readOnlyConnectionStringSecret', readOnly)),
      ['readOnlyConnectionStringSecret', readOnly !== undefined && readOnly.name === main.name && readOnly.key === main.key ? {
        value: `${readOnly.name}/${readOnly.key}`,
        rule: 'it is the main connection string, so SPIRE opens a second pool to the same database and doubles the connections each replica may hold',
        fix: 'point it at a Secret key holding the read-only replica\'s connection string, or leave it out',
      } : undefined],
      ['maxOpenConns', isPoolLimit(pool.maxOpenConns) ? undefined : {
        value: String(pool.maxOpenConns),
        rule: 'the limit is a whole number of at least 1; SPIRE reads 0 as no limit at all, which lets the replicas exhaust the database\'s max_connections',
        fix: `set it to at most (max_connections - reserved) / replicas, e.g. ${DEFAULT_POOL.maxOpenConns}`,
      }],
      // Against an invalid maxOpenConns, which is reported above, no idle limit is right.
      ['maxIdleConns', !isPoolLimit(pool.maxOpenConns) || (Number.isInteger(pool.maxIdleConns) && pool.maxIdleConns >= 0 && pool.maxIdleConns <= pool.maxOpenConns) ? undefined : {
        value: String(pool.maxIdleConns),
        rule: `idle connections are a whole number from 0 to maxOpenConns (${pool.maxOpenConns}); Go's connection pool silently lowers a larger one`,
        fix: `set it to at most ${pool.maxOpenConns}, or raise maxOpenConns`,
      }],
      ['connMaxLifetime', checkGoDuration(pool.connMaxLifetime)],
      ['awsRegion', this.awsRegion === undefined ? undefined : checkAwsRegion(this.awsRegion, 'the database')],
      ...this.tlsFileChecks(),
    ];
  }

  /** SPIRE reads the TLS files only for MySQL (`configureConnection` in `sqlstore/mysql.go`, v1.15.3). */
  private tlsFileChecks(): Check[] {
    const { rootCaSecret, clientCertSecretName } = this.options;
    const mysql = this.databaseType === DatabaseType.MYSQL;
    const postgresOnly = (given: string): Problem => ({
      value: given,
      rule: 'SPIRE reads the database\'s CA and client certificate files for MySQL only and ignores them for PostgreSQL',
      fix: 'name them in the PostgreSQL connection string (sslrootcert, sslcert, sslkey) instead, or leave this option out',
    });
    return [
      ...(rootCaSecret === undefined ? [] : secretKeyChecks('rootCaSecret', rootCaSecret)),
      ['rootCaSecret', rootCaSecret !== undefined && !mysql ? postgresOnly(`${rootCaSecret.name}/${rootCaSecret.key}`) : undefined],
      ['clientCertSecretName', clientCertSecretName === undefined ? undefined : checkDnsSubdomain(clientCertSecretName)],
      ['clientCertSecretName', clientCertSecretName !== undefined && !mysql ? postgresOnly(clientCertSecretName) : undefined],
    ];
  }
}

function isPoolLimit(value: number): boolean {
  return Number.isInteger(value) && value >= 1;
}

/** A service account, qualified by namespace, as the `k8s_psat` allow-list spells it. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The server's datastore: sqlite on the server's volume (one replica only), or
 * an external SQL database whose connection strings SPIRE expands from
 * environment variables at start (`-expandEnv`), so no secret lands in a ConfigMap.
 */
export interface DatastoreModel {
  /** Undefined for sqlite. */
  readonly databaseType?: DatabaseType;
  /** The variable holding the connection string of an external database. */
  readonly connectionStringEnv: string;
  /** The variable holding the read-only replica's connection string; undefined: none. */
  readonly readOnlyConnectionStringEnv?: string;
  /** Undefined: SPIRE's own pool limits. */
  readonly pool?: ConnectionPoolModel;
  /** The region of an RDS database SPIRE logs in to with IAM; undefined: a password in the connection string. */
  readonly awsRegion?: string;
  /** Where the database's CA is mounted; undefined: the image's roots. */
  readonly rootCaPath?: string;
  /** Where the client certificate and its key are mounted; undefined: none. */
  readonly clientCertPath?: string;
  readonly clientKeyPath?: string;
  readonly disableMigration?: boolean;
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
  readonly upstreamAuthority?: ServerPluginModel;
  /** Node attestors besides `k8s_psat`; undefined: none. */
  readonly nodeAttestors?: ServerPluginModel[];
  /** Bundle publishers besides the agents' ConfigMap; undefined: none. */
  readonly bundlePublishers?: ServerPluginModel[];
  /** Undefined: no federation bundle endpoint. */
  readonly bundleEndpoint?: BundleEndpointModel;
  /** Undefined: SPIRE's own for every setting. */
  readonly settings?: ServerSettingsModel;
  /** Undefined: no DogStatsd sink. */
  readonly dogStatsdAddress?: string;
}

/** A plugin of the server, as `server.conf` names and configures it. */
export interface ServerPluginModel {
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
      ...renderServerSettings(model.settings),
    },
    plugins: {
      DataStore: plugin('sql', renderDatastore(model.datastore, model.dataDir)),
      KeyManager: model.keyManager._render(model.dataDir, model.keyPolicyFile),
      NodeAttestor: [
        ...plugin('k8s_psat', {
          clusters: {
            [model.clusterName]: {
              service_account_allow_list: [`${model.agentServiceAccount.namespace}:${model.agentServiceAccount.name}`],
              audience: [model.psatAudience],
              ...renderPsatLabelKeys(model.settings),
            },
          },
        }),
        ...plugins(model.nodeAttestors),
      ],
      // k8s_configmap replaces the deprecated k8sbundle notifier.
      BundlePublisher: [
        ...plugin('k8s_configmap', {
          clusters: {
            [model.clusterName]: {
              namespace: model.bundle.namespace,
              configmap_name: model.bundle.configMapName,
              configmap_key: model.bundle.key,
              format: model.bundle.format,
            },
          },
        }),
        ...plugins(model.bundlePublishers),
      ],
      ...renderUpstreamAuthority(model.upstreamAuthority),
      ...renderSettingsPlugins(model.settings),
    },
    health_checks: renderHealthChecks(model.health),
    ...renderTelemetry(model.prometheus, model.dogStatsdAddress),
  };
}

function renderDatastore(datastore: DatastoreModel, dataDir: string): object {
  if (datastore.databaseType === undefined) {
    return { database_type: 'sqlite3', connection_string: `${dataDir}/datastore.sqlite3` };
  }
  const readOnlyEnv = datastore.readOnlyConnectionStringEnv;
  const pool = datastore.pool;
  return {
    database_type: datastore.awsRegion === undefined ? datastore.databaseType : { [`aws_${datastore.databaseType}`]: { region: datastore.awsRegion } },
    connection_string: expandedEnv(datastore.connectionStringEnv),
    ...(readOnlyEnv === undefined ? {} : { ro_connection_string: expandedEnv(readOnlyEnv) }),
    ...(pool === undefined ? {} : { max_open_conns: pool.maxOpenConns, max_idle_conns: pool.maxIdleConns, conn_max_lifetime: pool.connMaxLifetime }),
    root_ca_path: datastore.rootCaPath,
    client_cert_path: datastore.clientCertPath,
    client_key_path: datastore.clientKeyPath,
    disable_migration: datastore.disableMigration,
  };
}

/** What `-expandEnv` replaces with the variable's value, verbatim, before SPIRE parses the file. */
function expandedEnv(name: string): string {
  return `\${${name}}`;
}

function plugins(models: ServerPluginModel[] | undefined): PluginSection {
  return (models ?? []).flatMap(({ pluginName, pluginData }) => plugin(pluginName, pluginData));
}

function renderUpstreamAuthority(upstream: ServerPluginModel | undefined): object {
  if (upstream === undefined) return {};
  return { UpstreamAuthority: plugin(upstream.pluginName, upstream.pluginData) };
}
