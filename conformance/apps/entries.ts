// A server whose controller manager garbage-collects every second, and one ClusterStaticEntry of
// its class, for the `entries` scenario: the controller manager's entries next to one made by hand.
import { Chart } from 'cdk8s';
import { CrdsChart } from '../../lib/charts/crds-chart';
import { SpireChart } from '../../lib/charts/spire-chart';
import { ClusterStaticEntry } from '../../lib/constructs/cluster-static-entry';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';

const [outdir] = process.argv.slice(2);

const app = new SpireIstioApp({ outdir });
const crds = new CrdsChart(app, 'crds');
const spire = new SpireChart(app, 'spire', {
  server: { trustDomain: 'entries.test', clusterName: 'entries-cluster', controllerManager: { gcInterval: '1s' } },
});
spire.addDependency(crds);
const identities = new Chart(app, 'identities', { disableResourceNameHashes: true });
identities.addDependency(spire);
new ClusterStaticEntry(identities, 'Static', {
  server: spire.server,
  name: 'conformance-static',
  spiffeId: 'spiffe://entries.test/conformance/static',
  parentId: 'spiffe://entries.test/conformance/node',
  selectors: ['unix:uid:1001'],
});
app.synth();
