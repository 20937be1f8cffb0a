// The suite's output with one server setting changed, for the runs that need it:
//   node --require ./scripts/register-typescript.cjs e2e/apps/variant.ts NAME OUTDIR
import { KubeletPodsPermission } from '../../lib/config/agent-config';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { BOOKSTORE_MANIFEST, buildDefaultDeployment, DefaultDeploymentComponents } from '../../lib/charts/default-deployment';
import { settingsFromEnvironment } from '../../lib/charts/default-settings';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';

const VARIANTS: { [name: string]: { what: string; components: DefaultDeploymentComponents } } = {
  // SVIDs short-lived enough that the agent renews them while a run watches; the agent asks its
  // kubelet with the fine-grained permission, which the run's kubelet checks first.
  'short-svid-ttl': {
    what: 'X.509-SVIDs of 2 minutes (x509SvidTtl), the agent granted nodes/pods (kubeletPodsPermission)',
    components: { server: { x509SvidTtl: '2m' }, agent: { kubeletPodsPermission: KubeletPodsPermission.NODES_PODS } },
  },
  // Entries reach the agent sooner: the server reloads its entry cache and the agent syncs every
  // second instead of SPIRE's 5 s, for the scale measurements beside the defaults.
  'fast-sync': {
    what: 'entry cache reloaded and agents synced every second (experimental.cacheReloadInterval, experimental.syncInterval)',
    components: { server: { experimental: { cacheReloadInterval: '1s' } }, agent: { experimental: { syncInterval: '1s' } } },
  },
  // Each half of fast-sync alone, to tell which of the two waits a new pod's SVID waited for.
  'server-reload': {
    what: 'entry cache reloaded every second (experimental.cacheReloadInterval)',
    components: { server: { experimental: { cacheReloadInterval: '1s' } } },
  },
  'agent-sync': {
    what: 'agents synced every second (experimental.syncInterval)',
    components: { agent: { experimental: { syncInterval: '1s' } } },
  },
  // The same speed from the datastore's change events instead of a full reload of every entry
  // each second.
  'events-cache': {
    what: 'entry cache updated from change events every second, agents synced every second (experimental.eventsBasedCache, cacheReloadInterval, syncInterval)',
    components: { server: { experimental: { eventsBasedCache: true, cacheReloadInterval: '1s' } }, agent: { experimental: { syncInterval: '1s' } } },
  },
  // Three replicas on a PostgreSQL outside the cluster, each keeping its CA key on its own volume.
  'ha-postgres': {
    what: '3 server replicas on PostgreSQL (replicas, ServerDatastore.external)',
    components: {
      server: {
        replicas: 3,
        datastore: ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-datastore', key: 'connection-string' }),
      },
    },
  },
};

const [name, outdir] = process.argv.slice(2);
const variant = VARIANTS[name];
if (variant === undefined || outdir === undefined) {
  throw new Error(`usage: variant.ts NAME OUTDIR, NAME one of ${Object.keys(VARIANTS).join(', ')}`);
}
const app = new SpireIstioApp({ outdir });
buildDefaultDeployment(app, settingsFromEnvironment({}), BOOKSTORE_MANIFEST, variant.components);
app.synth();
console.log(variant.what);
