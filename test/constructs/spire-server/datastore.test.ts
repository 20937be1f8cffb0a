import { KeyManager } from '../../../lib/config/key-manager';
import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
const stackWith = (server: StackOverrides['server']) => buildStack({ server });
const statefulSetOf = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson().find((o: any) => o.kind === 'StatefulSet');
const serverContainer = (statefulSet: any) => statefulSet.spec.template.spec.containers[0];
const dataMount = (statefulSet: any) => serverContainer(statefulSet).volumeMounts.find((m: any) => m.mountPath === '/run/spire/data');
const claimsOf = (statefulSet: any) => statefulSet.spec.volumeClaimTemplates ?? [];

describe('SpireServer datastore', () => {
  test('sqlite lives in data_dir, on a claim per replica of the size and class asked for', () => {
    const stack = stackWith({ storageSize: '5Gi', storageClassName: 'fast' });
    const statefulSet = statefulSetOf(stack);
    expect(claimsOf(statefulSet).map((claim: any) => [claim.metadata.name, claim.spec.resources.requests.storage, claim.spec.storageClassName]))
      .toEqual([['spire-data', '5Gi', 'fast']]);
    expect(dataMount(statefulSet).name).toBe('spire-data');
    expect(stack.server.serverConfig.plugins.DataStore).toEqual([{ sql: { plugin_data: { database_type: 'sqlite3', connection_string: '/run/spire/data/datastore.sqlite3' } } }]);
    expect(claimsOf(statefulSetOf(stackWith({})))[0].spec.resources.requests.storage).toBe('1Gi');
  });

  test('an external datastore takes its connection string from a Secret, never the ConfigMap', () => {
    const stack = stackWith({ datastore: postgres });
    const env = serverContainer(statefulSetOf(stack)).env;
    expect(env).toEqual([{ name: 'SPIRE_DATASTORE_CONNECTION_STRING', valueFrom: { secretKeyRef: { name: 'spire-db', key: 'dsn' } } }]);
    expect(stack.server.serverConfig.plugins.DataStore[0].sql.plugin_data).toMatchObject({ database_type: 'postgres', connection_string: '${SPIRE_DATASTORE_CONNECTION_STRING}' });
    expect(serverContainer(statefulSetOf(stack)).args).toContain('-expandEnv');
  });

  test('a MySQL database\'s CA and client certificate are mounted read-only into spire-server where server.conf looks for them', () => {
    const datastore = ServerDatastore.external(DatabaseType.MYSQL, { name: 'spire-db', key: 'dsn' }, { rootCaSecret: { name: 'db-ca', key: 'ca.pem' }, clientCertSecretName: 'db-client' });
    const stack = stackWith({ datastore });
    const statefulSet = statefulSetOf(stack);
    const data = stack.server.serverConfig.plugins.DataStore[0].sql.plugin_data;
    const dirOf = (file: string) => file.slice(0, file.lastIndexOf('/'));
    for (const [secretName, file] of [['db-ca', data.root_ca_path], ['db-client', data.client_cert_path], ['db-client', data.client_key_path]]) {
      const volume = statefulSet.spec.template.spec.volumes.find((v: any) => v.secret?.secretName === secretName);
      expect(serverContainer(statefulSet).volumeMounts).toContainEqual({ name: volume.name, mountPath: dirOf(file), readOnly: true });
    }
    const controllerManager = statefulSet.spec.template.spec.containers.find((c: any) => c.name === 'spire-controller-manager');
    expect(controllerManager.volumeMounts.map((m: any) => m.name)).not.toContain('datastore-ca');
  });

  test('a read-only replica\'s connection string and the pool limits reach the server\'s container and server.conf', () => {
    const readOnly = { name: 'spire-db', key: 'ro-dsn' };
    const stack = stackWith({ datastore: ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' }, { readOnlyConnectionStringSecret: readOnly, maxOpenConns: 15 }) });
    expect(serverContainer(statefulSetOf(stack)).env).toEqual([
      { name: 'SPIRE_DATASTORE_CONNECTION_STRING', valueFrom: { secretKeyRef: { name: 'spire-db', key: 'dsn' } } },
      { name: 'SPIRE_DATASTORE_RO_CONNECTION_STRING', valueFrom: { secretKeyRef: { name: 'spire-db', key: 'ro-dsn' } } },
    ]);
    expect(stack.server.serverConfig.plugins.DataStore[0].sql.plugin_data).toMatchObject({
      ro_connection_string: '${SPIRE_DATASTORE_RO_CONNECTION_STRING}', max_open_conns: 15, max_idle_conns: 10, conn_max_lifetime: '30m',
    });
  });

  test('the datastore\'s own problems are reported on the server\'s path, named by their option', () => {
    const errors = synthErrors(stackWith({ datastore: ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' }, { maxOpenConns: 0 }) }).app);
    expect(errors).toEqual([expect.stringContaining('[spire/Server] datastore.maxOpenConns "0": the limit is a whole number of at least 1')]);
  });

  test('with an external datastore the disk key manager still keeps its keys on the replica\'s claim', () => {
    const statefulSet = statefulSetOf(stackWith({ datastore: postgres, keyManager: KeyManager.disk() }));
    expect(claimsOf(statefulSet).map((claim: any) => claim.metadata.name)).toEqual(['spire-data']);
    expect(dataMount(statefulSet).name).toBe('spire-data');
    expect(statefulSet.spec.template.spec.volumes.map((v: any) => v.name)).not.toContain('spire-data');
  });

  test('with an external datastore and memory keys nothing must outlive the pod: data_dir is an emptyDir, there is no claim', () => {
    const statefulSet = statefulSetOf(stackWith({ datastore: postgres, keyManager: KeyManager.memory() }));
    expect(claimsOf(statefulSet)).toEqual([]);
    expect(statefulSet.spec.template.spec.volumes.find((v: any) => v.name === dataMount(statefulSet).name).emptyDir).toEqual({});
  });

  test('sqlite with more than one replica is rejected; an external datastore allows it', () => {
    expect(synthErrors(stackWith({ replicas: 3 }).app)).toEqual([expect.stringContaining('[spire/Server] replicas "3": the sqlite datastore lives on one replica\'s volume')]);
    expect(synthErrors(stackWith({ replicas: 3, datastore: postgres }).app)).toEqual([]);
  });
});
