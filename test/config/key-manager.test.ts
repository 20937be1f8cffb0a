import { KeyManager } from '../../lib/config/key-manager';

describe('KeyManager', () => {
  const render = (keyManager: KeyManager) => keyManager._render('/data', '/config/policy.json');

  test('disk keeps the keys in the data directory', () => {
    expect(render(KeyManager.disk())).toEqual([{ disk: { plugin_data: { keys_path: '/data/keys.json' } } }]);
    expect(KeyManager.disk().needsVolume).toBe(true);
  });

  test('memory keeps nothing, so it needs no volume', () => {
    expect(render(KeyManager.memory())).toEqual([{ memory: { plugin_data: {} } }]);
    expect(KeyManager.memory().needsVolume).toBe(false);
  });

  test('aws_kms keeps the replica\'s key identifier in the data directory; optional keys only when set', () => {
    expect(render(KeyManager.awsKms({ region: 'eu-central-1' }))).toEqual([{
      aws_kms: { plugin_data: { region: 'eu-central-1', key_identifier_file: '/data/kms-key-identifier' } },
    }]);
    expect(render(KeyManager.awsKms({ region: 'us-gov-west-1', tagBasedKeyDiscovery: true, keyTags: { team: 'identity' } }))).toEqual([{
      aws_kms: {
        plugin_data: {
          region: 'us-gov-west-1',
          key_identifier_file: '/data/kms-key-identifier',
          enable_tag_based_key_discovery: true,
          key_tags: { team: 'identity' },
        },
      },
    }]);
    expect(render(KeyManager.awsKms({ region: 'us-east-2', tagBasedKeyDiscovery: false, keyTags: {} }))).toEqual([{
      aws_kms: { plugin_data: { region: 'us-east-2', key_identifier_file: '/data/kms-key-identifier' } },
    }]);
    expect(KeyManager.awsKms({ region: 'us-east-2' }).needsVolume).toBe(true);
  });

  test('gcp_kms names the key ring and keeps the key identifier in the data directory', () => {
    const keyRing = 'projects/p/locations/europe-west3/keyRings/spire';
    expect(render(KeyManager.gcpKms({ keyRing }))).toEqual([{
      gcp_kms: { plugin_data: { key_ring: keyRing, key_identifier_file: '/data/kms-key-identifier' } },
    }]);
  });

  test('azure_key_vault names the vault and keeps the key identifier in the data directory', () => {
    expect(render(KeyManager.azureKeyVault({ keyVaultUri: 'https://spire.vault.azure.net/' }))).toEqual([{
      azure_key_vault: { plugin_data: { key_vault_uri: 'https://spire.vault.azure.net/', key_identifier_file: '/data/kms-key-identifier' } },
    }]);
  });

  test('a key policy is given to SPIRE as a file, only when set', () => {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    expect(render(KeyManager.awsKms({ region: 'us-east-2', keyPolicy: policy }))).toEqual([{
      aws_kms: { plugin_data: { region: 'us-east-2', key_identifier_file: '/data/kms-key-identifier', key_policy_file: '/config/policy.json' } },
    }]);
    expect(KeyManager.awsKms({ region: 'us-east-2', keyPolicy: policy }).keyPolicy).toBe(policy);
    expect(render(KeyManager.gcpKms({ keyRing: 'projects/p/locations/l/keyRings/k', keyPolicy: '{"bindings":[]}' }))).toEqual([{
      gcp_kms: { plugin_data: { key_ring: 'projects/p/locations/l/keyRings/k', key_identifier_file: '/data/kms-key-identifier', key_policy_file: '/config/policy.json' } },
    }]);
    expect(KeyManager.disk().keyPolicy).toBeUndefined();
  });

  test.each([
    [KeyManager.awsKms({ region: 'us-east-2' }), undefined],
    [KeyManager.awsKms({ region: 'eusc-de-east-1' }), undefined],
    [KeyManager.awsKms({ region: '' }), 'an AWS region'],
    [KeyManager.awsKms({ region: 'useast2' }), 'an AWS region'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { 'team': 'identity', 'Cost Center': 'a+b=c.d_e:f/g@h-1', 'Zürich': '', ['k'.repeat(128)]: 'v'.repeat(256) } }), undefined],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { 'spire-team': 'identity' } }), 'the prefix "spire-" is reserved'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { 'AWS:team': 'identity' } }), 'the prefix "aws:" is reserved'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { '': 'identity' } }), 'a tag key is 1 to 128 bytes long'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { ['k'.repeat(129)]: 'identity' } }), 'a tag key is 1 to 128 bytes long'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { ['ü'.repeat(65)]: 'identity' } }), 'a tag key is 1 to 128 bytes long'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { 'team*': 'identity' } }), 'a tag key holds only letters'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { team: 'v'.repeat(257) } }), 'the value of tag "team" is at most 256 bytes'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: { team: 'a,b' } }), 'the value of tag "team" is at most 256 bytes of letters'],
    [KeyManager.awsKms({ region: 'us-east-2', keyTags: Object.fromEntries([...Array(51).keys()].map((i) => [`tag${i}`, 'v'])) }), 'AWS allows at most 50 tags'],
    [KeyManager.gcpKms({ keyRing: 'projects/p/locations/global/keyRings/k' }), undefined],
    [KeyManager.gcpKms({ keyRing: 'projects/p/locations/global/keyRings/k/cryptoKeys/c' }), 'a key ring is named by its resource ID'],
    [KeyManager.awsKms({ region: 'us-east-2', keyPolicy: '{"Version": "2012-10-17"}' }), undefined],
    [KeyManager.azureKeyVault({ keyVaultUri: 'https://spire.vault.azure.net/' }), undefined],
    [KeyManager.azureKeyVault({ keyVaultUri: 'spire.vault.azure.net' }), 'a Key Vault URI is the vault\'s https address'],
    [KeyManager.azureKeyVault({ keyVaultUri: 'https://spire.vault.azure.net/keys/ca' }), 'a Key Vault URI is the vault\'s https address'],
    [KeyManager.awsKms({ region: 'us-east-2', keyPolicy: '{Version: 2012-10-17}' }), 'a key policy is a JSON object'],
    [KeyManager.gcpKms({ keyRing: 'projects/p/locations/global/keyRings/k', keyPolicy: '[]' }), 'a key policy is a JSON object'],
  ])('%j: %s', (keyManager, rule) => {
    const rules = keyManager._problems().map((problem) => problem.rule);
    if (rule === undefined) expect(rules).toEqual([]);
    else expect(rules).toEqual([expect.stringContaining(rule)]);
  });
});
