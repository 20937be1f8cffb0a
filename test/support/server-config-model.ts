import { KeyManager } from '../../lib/config/key-manager';
import { BundleFormat, ServerConfigModel, ServerDatastore } from '../../lib/config/server-config';
import { DEFAULT_HEALTH_CHECKS, LogLevel } from '../../lib/config/spire-config';

/** The model of a plain server's server.conf, for tests of one of its parts. */
export const SERVER_CONFIG_MODEL: ServerConfigModel = {
  datastore: ServerDatastore.sqlite()._model(),
  trustDomain: 'example.org',
  clusterName: 'test',
  bindPort: 8081,
  apiSocketPath: '/tmp/api.sock',
  dataDir: '/run/spire/data',
  logLevel: LogLevel.INFO,
  caTtl: '24h',
  x509SvidTtl: '1h',
  keyManager: KeyManager.disk(),
  keyPolicyFile: '/run/spire/config/kms-key-policy.json',
  agentServiceAccount: { namespace: 'spire-agent', name: 'spire-agent' },
  psatAudience: 'spire-server',
  bundle: { namespace: 'spire-agent', configMapName: 'bundle', key: 'bundle.spiffe', format: BundleFormat.SPIFFE },
  health: DEFAULT_HEALTH_CHECKS,
};
