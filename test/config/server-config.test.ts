import { parse as parseHcl } from 'js-hcl-parser';
import {
  DatabaseType, DATASTORE_CONNECTION_STRING_ENV, DATASTORE_RO_CONNECTION_STRING_ENV, ExternalDatastoreOptions, renderServerConfig, ServerDatastore,
} from '../../lib/config/server-config';
import { renderJson } from '../../lib/config/spire-config';
import { formatProblem, Problem } from '../../lib/validation/rules';
import { SERVER_CONFIG_MODEL } from '../support/server-config-model';

const MAIN = { name: 'spire-db', key: 'dsn' };
const READ_ONLY = { name: 'spire-db', key: 'ro-dsn' };


/** server.conf as it lands in the ConfigMap. */
const serverConf = (datastore: ServerDatastore) => renderJson(renderServerConfig({ ...SERVER_CONFIG_MODEL, datastore: datastore._model() }));
const pluginData = (datastore: ServerDatastore) => JSON.parse(serverConf(datastore)).plugins.DataStore[0].sql.plugin_data;
const external = (options?: ExternalDatastoreOptions) => ServerDatastore.external(DatabaseType.POSTGRES, MAIN, options);
const problems = (datastore: ServerDatastore) => datastore._checks()
  .filter((check): check is [string, Problem] => check[1] !== undefined)
  .map(([what, problem]) => formatProblem(what, problem));

describe('ServerDatastore rendering', () => {
  test('sqlite lives in the data directory and has no pool settings', () => {
    expect(pluginData(ServerDatastore.sqlite())).toEqual({ database_type: 'sqlite3', connection_string: '/run/spire/data/datastore.sqlite3' });
    expect(ServerDatastore.sqlite()._secretEnv()).toEqual([]);
  });

  test('an external database gets its connection string from a variable set from the Secret, and pool limits three replicas fit into', () => {
    const datastore = external();
    expect(pluginData(datastore)).toEqual({
      database_type: 'postgres',
      connection_string: `\${${DATASTORE_CONNECTION_STRING_ENV}}`,
      max_open_conns: 20,
      max_idle_conns: 10,
      conn_max_lifetime: '30m',
    });
    expect(datastore._secretEnv()).toEqual([{ name: DATASTORE_CONNECTION_STRING_ENV, secret: MAIN }]);
  });

  test('the default pools of three replicas leave a default PostgreSQL room for others', () => {
    const pool = external()._model().pool!;
    const usable = 100 - 3; // max_connections minus superuser_reserved_connections
    expect(usable - 3 * pool.maxOpenConns).toBeGreaterThanOrEqual(30);
  });

  test('the read-only replica\'s connection string comes from its own variable and Secret key', () => {
    const datastore = external({ readOnlyConnectionStringSecret: READ_ONLY, maxOpenConns: 30, maxIdleConns: 5, connMaxLifetime: '1h' });
    expect(pluginData(datastore)).toEqual({
      database_type: 'postgres',
      connection_string: `\${${DATASTORE_CONNECTION_STRING_ENV}}`,
      ro_connection_string: `\${${DATASTORE_RO_CONNECTION_STRING_ENV}}`,
      max_open_conns: 30,
      max_idle_conns: 5,
      conn_max_lifetime: '1h',
    });
    expect(datastore._secretEnv()).toEqual([
      { name: DATASTORE_CONNECTION_STRING_ENV, secret: MAIN },
      { name: DATASTORE_RO_CONNECTION_STRING_ENV, secret: READ_ONLY },
    ]);
    expect(problems(datastore)).toEqual([]);
  });
});

/**
 * What `spire-server run -expandEnv` does with server.conf: each `${NAME}` is replaced with the
 * variable's value, verbatim, and HashiCorp's HCL v1 decodes the result (JSON is HCL). SPIRE then
 * prints the plugin's data back as HCL, its strings as they were written, and the sql plugin
 * decodes that again: the second decode is where a `${` is read.
 */
function connectionStringSpireReads(datastore: ServerDatastore, secretValue: string): string {
  const written = serverConf(datastore);
  const expanded = written.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => (name === DATASTORE_CONNECTION_STRING_ENV ? secretValue : ''));
  decodeHcl(expanded);
  const asWritten = JSON.stringify(JSON.parse(written).plugins.DataStore[0].sql.plugin_data.connection_string);
  return decodeHcl(`connection_string = ${asWritten.replace(`\${${DATASTORE_CONNECTION_STRING_ENV}}`, secretValue)}`).connection_string;
}

function decodeHcl(text: string): any {
  const decoded = parseHcl(text);
  if (!decoded.startsWith('{')) throw new Error(decoded);
  return JSON.parse(decoded);
}

/** The escaping the recipe of docs/production.md applies (`jq -Rr '@json | .[1:-1]'`): JSON's, without the quotes. */
const escapedForSecret = (value: string) => JSON.stringify(value).slice(1, -1);

describe('a connection string with " or \\ in the Secret', () => {
  const connectionString = 'host=db.example port=5432 user=spire password=\'p"w\\d$x\' dbname=spire sslmode=verify-full';

  test('reaches SPIRE unchanged when the Secret holds it escaped as the docs say', () => {
    expect(connectionStringSpireReads(external(), escapedForSecret(connectionString))).toBe(connectionString);
    expect(connectionStringSpireReads(external(), escapedForSecret('postgres://spire:p%22w%5Cd@db.example/spire'))).toBe('postgres://spire:p%22w%5Cd@db.example/spire');
  });

  test('breaks the config when the Secret holds a raw "', () => {
    expect(() => connectionStringSpireReads(external(), 'password=p"w')).toThrow(/literal not terminated/);
  });

  test('breaks the config, or changes the string, when the Secret holds a raw \\', () => {
    expect(() => connectionStringSpireReads(external(), 'password=p\\qw')).toThrow(/illegal char escape/);
    expect(connectionStringSpireReads(external(), 'password=p\\nw')).toBe('password=p\nw');
  });

  test('breaks the config when it holds an unclosed ${, escaped or not', () => {
    expect(() => connectionStringSpireReads(external(), escapedForSecret('password=p${w'))).toThrow(/literal not terminated/);
    expect(() => connectionStringSpireReads(external(), 'password=p${w')).toThrow(/literal not terminated/);
  });
});

describe('ServerDatastore TLS files, migrations and IAM authentication', () => {
  const mysql = (options?: ExternalDatastoreOptions) => ServerDatastore.external(DatabaseType.MYSQL, MAIN, options);

  test('a MySQL database\'s CA and client certificate are read from the mounted Secrets', () => {
    const datastore = mysql({ rootCaSecret: { name: 'db-ca', key: 'ca.pem' }, clientCertSecretName: 'db-client' });
    expect(pluginData(datastore)).toMatchObject({
      root_ca_path: '/run/spire/datastore/ca/ca.pem',
      client_cert_path: '/run/spire/datastore/client/tls.crt',
      client_key_path: '/run/spire/datastore/client/tls.key',
    });
    expect(datastore._secretVolumes()).toEqual([
      { secretName: 'db-ca', mountPath: '/run/spire/datastore/ca', keys: ['ca.pem'] },
      { secretName: 'db-client', mountPath: '/run/spire/datastore/client', keys: ['tls.crt', 'tls.key'] },
    ]);
    expect(problems(datastore)).toEqual([]);
  });

  test('without them nothing is mounted or written', () => {
    expect(external()._secretVolumes()).toEqual([]);
    expect(Object.keys(pluginData(external()))).not.toEqual(expect.arrayContaining(['root_ca_path', 'client_cert_path', 'disable_migration']));
  });

  test('disableMigration is written only when set', () => {
    expect(pluginData(external({ disableMigration: true })).disable_migration).toBe(true);
  });

  test('an RDS database with IAM authentication names the aws_ type and its region', () => {
    const datastore = ServerDatastore.awsIam(DatabaseType.POSTGRES, 'eu-west-1', MAIN, { maxOpenConns: 10 });
    expect(pluginData(datastore)).toMatchObject({ database_type: { aws_postgres: { region: 'eu-west-1' } }, connection_string: `\${${DATASTORE_CONNECTION_STRING_ENV}}`, max_open_conns: 10 });
    expect(pluginData(ServerDatastore.awsIam(DatabaseType.MYSQL, 'us-east-2', MAIN)).database_type).toEqual({ aws_mysql: { region: 'us-east-2' } });
    expect(datastore.awsRegion).toBe('eu-west-1');
    expect(datastore.databaseType).toBe(DatabaseType.POSTGRES);
    expect(datastore._secretEnv()).toEqual([{ name: DATASTORE_CONNECTION_STRING_ENV, secret: MAIN }]);
  });

  test.each<[string, ServerDatastore, string]>([
    ['a CA for PostgreSQL, which SPIRE ignores', external({ rootCaSecret: { name: 'db-ca', key: 'ca.pem' } }), 'rootCaSecret "db-ca/ca.pem": SPIRE reads the database\'s CA and client certificate files for MySQL only'],
    ['a client certificate for PostgreSQL, which SPIRE ignores', ServerDatastore.awsIam(DatabaseType.POSTGRES, 'eu-west-1', MAIN, { clientCertSecretName: 'db-client' }), 'clientCertSecretName "db-client": SPIRE reads the database\'s CA'],
    ['a CA key that is no file name', mysql({ rootCaSecret: { name: 'db-ca', key: 'a/b' } }), 'rootCaSecret.key "a/b"'],
    ['a client Secret name Kubernetes refuses', mysql({ clientCertSecretName: 'DB_Client' }), 'clientCertSecretName "DB_Client"'],
    ['an RDS region that is no region', ServerDatastore.awsIam(DatabaseType.MYSQL, 'Frankfurt', MAIN), 'awsRegion "Frankfurt": an AWS region is a name such as "us-east-2"'],
  ])('%s is reported', (_, datastore, message) => {
    expect(problems(datastore)).toEqual([expect.stringContaining(message)]);
  });

  test('required arguments are refused at once, naming the factory', () => {
    expect(() => ServerDatastore.awsIam(DatabaseType.POSTGRES, undefined as any, MAIN)).toThrow('ServerDatastore.awsIam: the required prop "region" is missing');
    expect(() => mysql({ rootCaSecret: { name: 'db-ca' } as any })).toThrow('ServerDatastore.external rootCaSecret: the required prop "key" is missing');
  });
});

describe('ServerDatastore checks', () => {
  test.each<[string, ExternalDatastoreOptions, string]>([
    ['no pool limit', { maxOpenConns: 0 }, 'maxOpenConns "0": the limit is a whole number of at least 1; SPIRE reads 0 as no limit at all'],
    ['a fractional limit', { maxOpenConns: 2.5 }, 'maxOpenConns "2.5": the limit is a whole number of at least 1'],
    ['more idle than open connections', { maxOpenConns: 5 }, 'maxIdleConns "10": idle connections are a whole number from 0 to maxOpenConns (5); Go\'s connection pool silently lowers a larger one'],
    ['negative idle connections', { maxIdleConns: -1 }, 'maxIdleConns "-1": idle connections are a whole number from 0 to maxOpenConns (20)'],
    ['a lifetime that is no Go duration', { connMaxLifetime: '30 minutes' }, 'connMaxLifetime "30 minutes": a TTL is a positive Go duration'],
    ['the main connection string as the read-only one', { readOnlyConnectionStringSecret: MAIN }, 'readOnlyConnectionStringSecret "spire-db/dsn": it is the main connection string, so SPIRE opens a second pool to the same database'],
    ['an invalid read-only Secret name', { readOnlyConnectionStringSecret: { name: 'Spire_DB', key: 'ro' } }, 'readOnlyConnectionStringSecret.name "Spire_DB": a Kubernetes object name is a DNS-1123 subdomain'],
  ])('%s is reported', (_, options, message) => {
    expect(problems(external(options))).toEqual([expect.stringContaining(message)]);
  });

  test('the main Secret reference is checked too', () => {
    expect(problems(ServerDatastore.external(DatabaseType.MYSQL, { name: 'spire-db', key: 'dsn/main' }))).toEqual([
      expect.stringContaining('connectionStringSecret.key "dsn/main": a Secret key (and the file it is mounted as) holds only letters, digits'),
    ]);
  });

  test('sqlite has nothing to check', () => {
    expect(ServerDatastore.sqlite()._checks()).toEqual([]);
  });
});
