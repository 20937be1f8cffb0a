import { KeyManager } from '../../../lib/config/key-manager';
import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
import { UpstreamAuthority } from '../../../lib/config/upstream-authority';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
const replicated = (server: StackOverrides['server'] = {}) => buildStack({ server: { replicas: 2, datastore: postgres, ...server } });
const objectsOf = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson();
const statefulSetOf = (stack: ReturnType<typeof buildStack>) => objectsOf(stack).find((o: any) => o.kind === 'StatefulSet');

describe('SpireServer key manager', () => {
  test('the disk key manager keeps the keys in data_dir', () => {
    expect(buildStack().server.serverConfig.plugins.KeyManager).toEqual([{ disk: { plugin_data: { keys_path: '/run/spire/data/keys.json' } } }]);
  });

  test('the memory key manager with more than one replica is rejected, naming the fix', () => {
    const errors = synthErrors(replicated({ keyManager: KeyManager.memory() }).app);
    expect(errors).toEqual([expect.stringContaining('[spire/Server] keyManager "memory": with 2 replicas and no upstream authority, every restart of a replica makes it a new self-signed CA key')]);
    expect(errors[0]).toContain('KeyManager.disk()');
    expect(errors[0]).toContain('upstream authority');
    expect(synthErrors(buildStack({ server: { keyManager: KeyManager.memory() } }).app)).toEqual([]);
  });

  test('the memory key manager may serve replicas under an upstream authority, whose root the bundle keeps', () => {
    const upstreamAuthority = UpstreamAuthority.disk({ secretName: 'corp-ca' });
    expect(synthErrors(replicated({ keyManager: KeyManager.memory(), upstreamAuthority }).app)).toEqual([]);
  });

  test('an Azure Key Vault key manager labels the server pods for Workload Identity, outside the selector', () => {
    const statefulSet = statefulSetOf(replicated({ keyManager: KeyManager.azureKeyVault({ keyVaultUri: 'https://spire.vault.azure.net/' }) }));
    expect(statefulSet.spec.template.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'spire-server', 'azure.workload.identity/use': 'true' });
    expect(statefulSet.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'spire-server' });
    expect(statefulSetOf(replicated({ keyManager: KeyManager.awsKms({ region: 'us-east-2' }) })).spec.template.metadata.labels)
      .toEqual({ 'app.kubernetes.io/name': 'spire-server' });
  });

  test('a KMS key policy is a file of the config volume the server mounts, and part of the config checksum', () => {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    const checksum = (stack: ReturnType<typeof buildStack>) => statefulSetOf(stack).spec.template.metadata.annotations['checksum/config'];
    const stack = replicated({ keyManager: KeyManager.awsKms({ region: 'us-east-2', keyPolicy: policy }) });
    const file: string = stack.server.serverConfig.plugins.KeyManager[0].aws_kms.plugin_data.key_policy_file;
    const statefulSet = statefulSetOf(stack);
    const configMount = statefulSet.spec.template.spec.containers[0].volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
    const configVolume = statefulSet.spec.template.spec.volumes.find((v: any) => v.name === configMount.name);
    const configMap = objectsOf(stack).find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === configVolume.configMap.name);
    expect(configMap.data[file.slice(configMount.mountPath.length + 1)]).toBe(policy);
    const otherPolicy = replicated({ keyManager: KeyManager.awsKms({ region: 'us-east-2', keyPolicy: JSON.stringify({ Version: '2012-10-17' }) }) });
    expect(checksum(otherPolicy)).not.toBe(checksum(stack));
    expect(Object.keys(objectsOf(replicated()).find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === configVolume.configMap.name).data))
      .toEqual(['controller-manager-config.yaml', 'server.conf']);
  });

  test.each([
    [KeyManager.awsKms({ region: 'us-east-2', keyPolicy: 'not json' }), 'keyManager "not json": a key policy is a JSON object'],
    [KeyManager.awsKms({ region: 'US East' }), 'keyManager "US East": an AWS region is a name such as "us-east-2"'],
    [KeyManager.gcpKms({ keyRing: 'spire-keys' }), 'keyManager "spire-keys": a key ring is named by its resource ID'],
  ])('%j is rejected on the server\'s path (%s)', (keyManager, message) => {
    expect(synthErrors(buildStack({ server: { keyManager } }).app)).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
  });
});
