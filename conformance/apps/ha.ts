// Two SPIRE servers sharing a PostgreSQL datastore, with a read-only connection and pool limits
// of their own, and the pod, Service and volume settings of a production install, for the `ha`
// real-server scenario. A second argument picks a key-manager variant whose config is only
// validated: aws-kms (with an autoscaler instead of a fixed count), gcp-kms (with a bundle
// endpoint and its refresh hint), azure-key-vault or memory (one replica, since memory keys die
// with the pod).
import { CrdsChart } from '../../lib/charts/crds-chart';
import { SpireChart } from '../../lib/charts/spire-chart';
import { CaKeyType, KeyManager } from '../../lib/config/key-manager';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { SpireServerProps } from '../../lib/constructs/spire-server';
import { ServiceType } from '../../lib/kube/service-type';
import { StorageAccessMode } from '../../lib/kube/storage-access-mode';

const [outdir, variant] = process.argv.slice(2);

const variants: { [name: string]: Partial<SpireServerProps> } = {
  'disk': { caKeyType: CaKeyType.EC_P384, caSubject: { country: ['DE'], organization: ['cdk8s-spire-istio conformance'], commonName: 'ha' } },
  'aws-kms': {
    keyManager: KeyManager.awsKms({
      region: 'eu-central-1',
      tagBasedKeyDiscovery: true,
      keyTags: { team: 'identity' },
      keyPolicy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
    }),
    replicas: undefined,
    autoscaling: { minReplicas: 2, maxReplicas: 4, targetCpuUtilizationPercent: 70, serverContainerOnly: true },
  },
  'gcp-kms': {
    keyManager: KeyManager.gcpKms({
      keyRing: 'projects/conformance/locations/europe-west3/keyRings/spire',
      keyPolicy: JSON.stringify({ bindings: [] }),
    }),
    bundleEndpoint: { url: 'https://spire-bundle.ha.test:8443', serviceType: ServiceType.LOAD_BALANCER, refreshHint: '10m' },
  },
  'azure-key-vault': { keyManager: KeyManager.azureKeyVault({ keyVaultUri: 'https://spire-conformance.vault.azure.net/' }) },
  'memory': { keyManager: KeyManager.memory(), replicas: 1, caKeyType: CaKeyType.RSA_2048 },
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
    livenessProbe: { periodSeconds: 20, failureThreshold: 25, timeoutSeconds: 3 },
    readinessProbe: { initialDelaySeconds: 5, periodSeconds: 5 },
    podMetadata: { labels: { team: 'identity' }, annotations: { 'example.org/owner': 'identity' } },
    terminationGracePeriodSeconds: 60,
    serviceType: ServiceType.LOAD_BALANCER,
    serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' },
    storageAccessMode: StorageAccessMode.READ_WRITE_ONCE_POD,
    ...settings,
  },
});
spire.addDependency(crds);
app.synth();
