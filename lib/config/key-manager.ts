import { checkAwsRegion } from '../validation/aws';
import { Problem } from '../validation/rules';
import { requireProps } from '../validation/required';
import { PluginSection, plugin } from './spire-config';

/** Key types SPIRE's server CA can use (`ca_key_type`); it also sets the JWT signing key type. */
export enum CaKeyType {
  RSA_2048 = 'rsa-2048',
  RSA_4096 = 'rsa-4096',
  EC_P256 = 'ec-p256',
  EC_P384 = 'ec-p384',
}

/** The subject of the server's CA certificates (`ca_subject`). */
export interface CaSubject {
  /** Two-letter ISO 3166 country codes. @default none */
  readonly country?: string[];
  /** @default none */
  readonly organization?: string[];
  /** @default none */
  readonly commonName?: string;
}

/** The `ca_subject` block; SPIRE falls back to its own subject when the block is empty. */
export function renderCaSubject(subject: CaSubject): object {
  return {
    ...(subject.country?.length ? { country: subject.country } : {}),
    ...(subject.organization?.length ? { organization: subject.organization } : {}),
    ...(subject.commonName ? { common_name: subject.commonName } : {}),
  };
}

export function checkCaSubject(subject: CaSubject): Problem[] {
  const problems: Problem[] = [];
  if (Object.keys(renderCaSubject(subject)).length === 0) {
    problems.push({
      value: '{}',
      rule: 'an empty CA subject is ignored by SPIRE, which then uses its own',
      fix: 'set country, organization or commonName, or leave caSubject unset',
    });
  }
  for (const country of subject.country ?? []) {
    if (!/^[A-Z]{2}$/.test(country)) {
      problems.push({ value: country, rule: 'a certificate\'s country is a two-letter ISO 3166 code', fix: 'use a code such as "US" or "DE"' });
    }
  }
  return problems;
}

/** Settings of the `aws_kms` key manager. */
export interface AwsKmsKeyManagerOptions {
  /** AWS region the keys are created in, e.g. `us-east-2`. */
  readonly region: string;
  /**
   * Find the plugin's keys by their SPIRE tags instead of by aliases, as SPIRE
   * recommends; needs the `tag:GetResources` permission, and `kms:TagResource`
   * to tag the keys it creates. Set it alike on every server of the trust domain.
   * @default false (alias-based discovery, SPIRE's default)
   */
  readonly tagBasedKeyDiscovery?: boolean;
  /**
   * Tags put on every key the plugin creates; needs the `kms:TagResource`
   * permission. At most 50; keys of up to 128 bytes, values of up to 256, of
   * letters, digits, spaces and `+ - = . _ : / @`; the prefixes `aws:` and
   * `spire-` are reserved.
   * @default none
   */
  readonly keyTags?: { [key: string]: string };
  /**
   * Key policy of every key the plugin creates, a JSON document. It is put
   * into the server's ConfigMap and given to SPIRE as `key_policy_file`.
   * @default SPIRE's own key policy
   */
  readonly keyPolicy?: string;
}

/** Settings of the `gcp_kms` key manager. */
export interface GcpKmsKeyManagerOptions {
  /** Resource ID of the key ring: `projects/<project>/locations/<location>/keyRings/<name>`. */
  readonly keyRing: string;
  /**
   * IAM policy of every key the plugin creates, a JSON document. It is put
   * into the server's ConfigMap and given to SPIRE as `key_policy_file`.
   * @default SPIRE's own IAM policy
   */
  readonly keyPolicy?: string;
}

/** Settings of the `azure_key_vault` key manager. */
export interface AzureKeyVaultKeyManagerOptions {
  /** URI of the Key Vault holding the keys, e.g. `https://spire-keys.vault.azure.net/`. */
  readonly keyVaultUri: string;
}

const DISK_KEYS_FILE = 'keys.json';
const KEY_IDENTIFIER_FILE = 'kms-key-identifier';

/**
 * Where the SPIRE server keeps the private keys of its CA. Every choice but
 * `memory()` survives restarts: the keys, or the file naming the replica's
 * keys in a cloud KMS, sit on the replica's own PersistentVolumeClaim.
 * Cloud credentials come from the pod's identity (IRSA or Workload Identity
 * through `serviceAccountAnnotations`, plus the pod label `azureKeyVault`
 * adds), never from the ConfigMap.
 */
export class KeyManager {
  /** Keys in a file on the replica's volume (`disk`). */
  public static disk(): KeyManager {
    return new KeyManager('disk', (dataDir) => ({ keys_path: `${dataDir}/${DISK_KEYS_FILE}` }), []);
  }

  /**
   * Keys in memory only (`memory`): every restart makes a new CA key, which
   * agents and workloads must learn again. One replica only.
   */
  public static memory(): KeyManager {
    return new KeyManager('memory', () => ({}), []);
  }

  /**
   * Keys in AWS KMS (`aws_kms`); the private keys never leave KMS. Each
   * replica names its keys with an identifier SPIRE generates and keeps in a
   * file on the replica's volume, so replicas never share keys (a fixed
   * `key_identifier_value` would be the same for every replica).
   */
  public static awsKms(options: AwsKmsKeyManagerOptions): KeyManager {
    requireProps('KeyManager.awsKms', options, [['region', 'string', 'the AWS region the keys are created in, e.g. "us-east-2"']]);
    return new KeyManager('aws_kms', (dataDir, keyPolicyFile) => ({
      region: options.region,
      key_identifier_file: `${dataDir}/${KEY_IDENTIFIER_FILE}`,
      ...(options.keyPolicy === undefined ? {} : { key_policy_file: keyPolicyFile }),
      ...(options.tagBasedKeyDiscovery ? { enable_tag_based_key_discovery: true } : {}),
      ...(options.keyTags && Object.keys(options.keyTags).length > 0 ? { key_tags: options.keyTags } : {}),
    }), [checkAwsRegion(options.region, 'the KMS keys'), checkPolicyDocument(options.keyPolicy), ...checkKeyTags(options.keyTags ?? {})], options.keyPolicy);
  }

  /**
   * Keys in Google Cloud KMS (`gcp_kms`); the private keys never leave KMS.
   * Each replica's key identifier is kept on its volume, as with `awsKms`.
   */
  public static gcpKms(options: GcpKmsKeyManagerOptions): KeyManager {
    requireProps('KeyManager.gcpKms', options, [['keyRing', 'string', 'the key ring\'s resource ID, "projects/<project>/locations/<location>/keyRings/<name>"']]);
    return new KeyManager('gcp_kms', (dataDir, keyPolicyFile) => ({
      key_ring: options.keyRing,
      key_identifier_file: `${dataDir}/${KEY_IDENTIFIER_FILE}`,
      ...(options.keyPolicy === undefined ? {} : { key_policy_file: keyPolicyFile }),
    }), [checkGcpKeyRing(options.keyRing), checkPolicyDocument(options.keyPolicy)], options.keyPolicy);
  }

  /**
   * Keys in Azure Key Vault (`azure_key_vault`); the private keys never leave
   * it. Each replica's key identifier is kept on its volume, as with `awsKms`.
   * The plugin authenticates with the pod's default Azure credential, which
   * takes the tenant from `AZURE_TENANT_ID` (set by the Workload Identity
   * webhook). SPIRE's own `tenant_id` is not offered: it switches the plugin
   * to a client secret kept in the config file.
   *
   * For Azure Workload Identity the server's pods get the label
   * `azure.workload.identity/use: "true"`, without which the webhook gives
   * them no token; the service account still needs the
   * `azure.workload.identity/client-id` annotation
   * (`serviceAccountAnnotations`). With a managed identity the label does nothing.
   */
  public static azureKeyVault(options: AzureKeyVaultKeyManagerOptions): KeyManager {
    requireProps('KeyManager.azureKeyVault', options, [['keyVaultUri', 'string', 'the URI of the Key Vault, e.g. "https://spire-keys.vault.azure.net/"']]);
    return new KeyManager('azure_key_vault', (dataDir) => ({
      key_vault_uri: options.keyVaultUri,
      key_identifier_file: `${dataDir}/${KEY_IDENTIFIER_FILE}`,
    }), [checkKeyVaultUri(options.keyVaultUri)], undefined, { 'azure.workload.identity/use': 'true' });
  }

  /** SPIRE's name of the plugin. */
  public readonly pluginName: string;
  /** The policy document of the keys, when one is given. */
  public readonly keyPolicy?: string;
  /** Labels the server's pods need for the cloud identity the plugin logs in with. */
  public readonly podLabels: { [key: string]: string };

  private constructor(
    pluginName: string,
    private readonly pluginData: (dataDir: string, keyPolicyFile: string) => object,
    private readonly problems: Array<Problem | undefined>,
    keyPolicy?: string,
    podLabels: { [key: string]: string } = {},
  ) {
    this.pluginName = pluginName;
    this.keyPolicy = keyPolicy;
    this.podLabels = podLabels;
  }

  /** Whether the keys, or the name of the replica's keys, live on the replica's volume. */
  public get needsVolume(): boolean {
    return this.pluginName !== 'memory';
  }

  /**
   * What is wrong with the settings.
   * @internal
   */
  public _problems(): Problem[] {
    return this.problems.filter((problem): problem is Problem => problem !== undefined);
  }

  /**
   * The `KeyManager` plugin section for a server whose data directory is
   * `dataDir` and which finds `keyPolicy` at `keyPolicyFile`.
   * @internal
   */
  public _render(dataDir: string, keyPolicyFile: string): PluginSection {
    return plugin(this.pluginName, this.pluginData(dataDir, keyPolicyFile));
  }
}

// SPIRE's aws_kms plugin refuses tags beyond these (lengths in bytes, `\s` as Go's ASCII whitespace).
const MAX_KEY_TAGS = 50;
const TAG_TEXT = /^[\p{L}\p{N}\t\n\f\r +\-=._:/@]*$/u;
const RESERVED_TAG_PREFIXES = ['aws:', 'spire-'];

function checkKeyTags(tags: { [key: string]: string }): Problem[] {
  const entries = Object.entries(tags);
  if (entries.length > MAX_KEY_TAGS) {
    return [{ value: `${entries.length} tags`, rule: `AWS allows at most ${MAX_KEY_TAGS} tags on a key`, fix: 'drop tags, or move them to fewer keys' }];
  }
  return entries.flatMap(([key, value]) => [checkTagKey(key), checkTagValue(key, value)])
    .filter((problem): problem is Problem => problem !== undefined);
}

function checkTagKey(key: string): Problem | undefined {
  const fix = 'use a tag key such as "team" or "cost-center"';
  const reserved = RESERVED_TAG_PREFIXES.find((prefix) => key.toLowerCase().startsWith(prefix));
  if (reserved !== undefined) return { value: key, rule: `the prefix "${reserved}" is reserved for AWS and SPIRE's own tags`, fix };
  if (key === '' || Buffer.byteLength(key) > 128) return { value: key, rule: 'a tag key is 1 to 128 bytes long', fix };
  if (!TAG_TEXT.test(key)) return { value: key, rule: 'a tag key holds only letters, digits, spaces and + - = . _ : / @', fix };
  return undefined;
}

function checkTagValue(key: string, value: string): Problem | undefined {
  if (Buffer.byteLength(value) <= 256 && TAG_TEXT.test(value)) return undefined;
  return { value, rule: `the value of tag "${key}" is at most 256 bytes of letters, digits, spaces and + - = . _ : / @`, fix: 'shorten the value or drop the other characters' };
}

function checkPolicyDocument(policy: string | undefined): Problem | undefined {
  if (policy === undefined || isJsonObject(policy)) return undefined;
  return { value: policy, rule: 'a key policy is a JSON object', fix: 'give the policy document as JSON text, e.g. JSON.stringify(policy)' };
}

function isJsonObject(text: string): boolean {
  try {
    const parsed = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function checkKeyVaultUri(uri: string): Problem | undefined {
  if (/^https:\/\/[^/\s]+\/?$/.test(uri)) return undefined;
  return { value: uri, rule: 'a Key Vault URI is the vault\'s https address', fix: 'use the vault\'s URI, e.g. "https://spire-keys.vault.azure.net/"' };
}

function checkGcpKeyRing(keyRing: string): Problem | undefined {
  if (/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+$/.test(keyRing)) return undefined;
  return {
    value: keyRing,
    rule: 'a key ring is named by its resource ID, projects/<project>/locations/<location>/keyRings/<name>',
    fix: 'use the key ring\'s full resource ID',
  };
}
