// Two SPIRE servers sharing a PostgreSQL datastore, with a read-only connection and pool limits
// of their own, for the `ha` real-server scenario. A second
// argument picks a variant whose config is only validated: a key manager (aws-kms, gcp-kms,
// azure-key-vault, or memory with one replica, since memory keys die with the pod), a datastore
// (aws-rds: IAM authentication, schema migration left to an operator), or server-settings, every
// server.conf setting of ServerSettingsOptions and a DogStatsd sink.
import { CrdsChart } from '../../lib/charts/crds-chart';
import { SpireChart } from '../../lib/charts/spire-chart';
import { CaKeyType, KeyManager } from '../../lib/config/key-manager';
import { LogFormat } from '../../lib/config/log-format';
import { Metrics } from '../../lib/config/metrics';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { SpireServerProps } from '../../lib/constructs/spire-server';

const [outdir, variant] = process.argv.slice(2);

// Anyone may fetch the bundle (the server's own readiness check does, as a local caller); other
// methods follow the policy data's allow_local and SPIRE's usual admin, downstream and agent rules.
const AUTHORIZATION_POLICY = `package spire

result := {
	"allow": input.full_method in data.public_methods,
	"allow_if_admin": true,
	"allow_if_local": data.allow_local,
	"allow_if_downstream": true,
	"allow_if_agent": true,
}
`;

const variants: { [name: string]: Partial<SpireServerProps> } = {
  'disk': { caKeyType: CaKeyType.EC_P384, caSubject: { country: ['DE'], organization: ['cdk8s-spire-istio conformance'], commonName: 'ha' } },
  'aws-kms': {
    keyManager: KeyManager.awsKms({
      region: 'eu-central-1',
      tagBasedKeyDiscovery: true,
      keyTags: { team: 'identity' },
      keyPolicy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
    }),
  },
  'gcp-kms': {
    keyManager: KeyManager.gcpKms({
      keyRing: 'projects/conformance/locations/europe-west3/keyRings/spire',
      keyPolicy: JSON.stringify({ bindings: [] }),
    }),
  },
  'azure-key-vault': { keyManager: KeyManager.azureKeyVault({ keyVaultUri: 'https://spire-conformance.vault.azure.net/' }) },
  'memory': { keyManager: KeyManager.memory(), replicas: 1, caKeyType: CaKeyType.RSA_2048 },
  'server-settings': {
    logFormat: LogFormat.JSON,
    auditLog: true,
    adminIds: ['spiffe://ha.test/ns/ops/sa/admin', 'spiffe://partner.test/admin'],
    jwtKeyType: CaKeyType.RSA_2048,
    agentSvidTtl: '2h',
    rateLimit: { attestation: false, signing: true },
    pruneAttestedNodesExpiredFor: '24h',
    pruneTofuNodes: true,
    maxAttestedNodeInfoStaleness: '10s',
    psatAllowedNodeLabelKeys: ['topology.kubernetes.io/zone'],
    psatAllowedPodLabelKeys: ['app.kubernetes.io/name'],
    uniqueIdCredentialComposer: true,
    metrics: Metrics.prometheus().withDogStatsd({ address: 'datadog.datadog.svc' }),
    experimental: {
      cacheReloadInterval: '10s',
      eventsBasedCache: true,
      pruneEventsOlderThan: '24h',
      requirePqKem: false,
      featureFlags: ['wit-svid'],
      agentSpiffeIdAsSelector: true,
      authorizationPolicy: { rego: AUTHORIZATION_POLICY, policyData: JSON.stringify({ public_methods: ['/spire.api.server.bundle.v1.Bundle/GetBundle'], allow_local: true }) },
    },
  },
  'aws-rds': {
    datastore: ServerDatastore.awsIam(DatabaseType.POSTGRES, 'eu-central-1', { name: 'spire-datastore', key: 'connection-string' }, { disableMigration: true }),
  },
};
const settings = variants[variant ?? 'disk'];
if (settings === undefined) throw new Error(`unknown variant ${variant}; one of ${Object.keys(variants).join(', ')}`);

const app = new SpireIstioApp({ outdir });
const crds = new CrdsChart(app, 'crds');
const spire = new SpireChart(app, 'spire', {
  server: {
    trustDomain: 'ha.test',
    clusterName: 'ha-cluster',
    replicas: 2,
    datastore: ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-datastore', key: 'connection-string' }, {
      readOnlyConnectionStringSecret: { name: 'spire-datastore', key: 'ro-connection-string' },
      maxOpenConns: 15,
      maxIdleConns: 5,
      connMaxLifetime: '10m',
    }),
    ...settings,
  },
});
spire.addDependency(crds);
app.synth();
