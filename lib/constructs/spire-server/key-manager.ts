import { KeyManager } from '../../config/key-manager';
import { Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { ServerBinding, ServerContribution, ServerPart } from './part';

const KEY_POLICY_FILE = 'kms-key-policy.json';

/**
 * Where each replica keeps its CA's private keys: on its data volume (disk,
 * or the identifier of a cloud KMS key), or in memory. A KMS key policy is a
 * file of the config volume; a key manager may label the pods (Azure Workload
 * Identity).
 */
export class KeyManagerPart implements ServerPart {
  constructor(private readonly keyManager: KeyManager) {}

  public get keepsData(): boolean {
    return this.keyManager.needsVolume;
  }

  public bind(server: ServerBinding): ServerContribution {
    const policy = this.keyManager.keyPolicy;
    return {
      config: () => ({ keyManager: this.keyManager, keyPolicyFile: `${server.configDir}/${KEY_POLICY_FILE}` }),
      configFiles: policy === undefined ? {} : { [KEY_POLICY_FILE]: () => policy },
      podLabels: this.keyManager.podLabels,
      checks: () => [
        ...this.keyManager._problems().map((problem): Check => ['keyManager', problem]),
        ['keyManager', this.checkReplicas(server)],
      ],
    };
  }

  /** Under an upstream authority the bundle holds the upstream root, which a new CA key leaves as it is. */
  private checkReplicas(server: ServerBinding): Problem | undefined {
    if (server.replicas <= 1 || this.keyManager.needsVolume || server.upstreamSigned) return undefined;
    return {
      value: this.keyManager.pluginName,
      rule: `with ${server.replicas} replicas and no upstream authority, every restart of a replica makes it a new self-signed CA key, which must reach every agent and workload through the trust bundle again`,
      fix: 'use `keyManager: KeyManager.disk()` (keys on each replica\'s volume) or a cloud KMS key manager, or give the server an upstream authority',
    };
  }
}
