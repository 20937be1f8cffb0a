import { App, Chart, YamlOutputType } from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { IstioSpireProfile } from '../../lib/constructs/istio-spire-profile';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpiffeCsiDriver } from '../../lib/constructs/spiffe-csi-driver';
import { SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireCrds } from '../../lib/constructs/spire-crds';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { SpireServer } from '../../lib/constructs/spire-server';
import { SpiffeAuthorizationPolicy } from '../../lib/constructs/spiffe-authorization-policy';
import { StrictMtls } from '../../lib/constructs/strict-mtls';
import { Caller } from '../../lib/mesh/caller';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { buildStack, synthErrors, testApp } from '../support/stack';

const IMAGE = 'registry.example/cart:1.4.2';

/** Everything in one chart, as a first attempt without stages would put it. */
function oneChart(app: App = testApp()) {
  const chart = new Chart(app, 'all', { disableResourceNameHashes: true });
  const server = new SpireServer(chart, 'Server', { trustDomain: 'example.org', clusterName: 'c' });
  const agent = new SpireAgentDaemonSet(chart, 'Agent', { server });
  const csiDriver = new SpiffeCsiDriver(chart, 'Csi', { agent });
  const identity = new ClusterSpiffeId(chart, 'Identity', { server });
  const profile = new IstioSpireProfile(chart, 'Profile', { csiDriver });
  const namespace = MeshNamespace.create(chart, 'Shop', { name: 'shop' });
  const cart = new SpireEnabledWorkload(chart, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
  const mtls = new StrictMtls(chart, 'Mtls', { profile, namespace });
  new SpiffeAuthorizationPolicy(chart, 'CartPolicy', { workload: cart, allowFrom: [Caller.workload(cart)], mtls });
  return { app, chart, server, identity, profile };
}

describe('apply-order layout', () => {
  test('the stages of SpireIstioMesh apply in order, with no layout finding', () => {
    const app = testApp();
    const mesh = new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'c' });
    const namespace = MeshNamespace.create(mesh.workloads, 'Shop', { name: 'shop' });
    new SpireEnabledWorkload(mesh.workloads, 'Cart', { profile: mesh.profile, identity: mesh.meshIdentity, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toEqual([]);
  });

  test('everything in one chart is stopped with each ordering mistake and its fix', () => {
    const errors = synthErrors(oneChart().app);
    expect(errors).toEqual(expect.arrayContaining([
      expect.stringMatching(/all\/Profile\/IstioOperator: the IstioOperator is input for istioctl install, not kubectl, but its chart all also holds .*Fix: put the IstioSpireProfile in a chart of its own/),
      expect.stringMatching(/all\/Identity\/Resource: a ClusterSPIFFEID needs the spire.spiffe.io CRDs, which no chart of the app holds.*SpireCrds.installedElsewhere/),
      expect.stringMatching(/all\/Identity is in the same chart as all: the SPIRE controller manager's webhook admits ClusterSPIFFEIDs/),
      expect.stringMatching(/all\/Profile is in the same chart as all: SPIRE must run before Istio/),
      expect.stringMatching(/all\/Cart\/Deployment\/Resource is in the same chart as all: istio-proxy looks for the SPIRE socket once/),
      expect.stringMatching(/all\/Mtls is in the same chart as all: its PeerAuthentication is an Istio CRD, which installing Istio creates/),
      expect.stringMatching(/all\/CartPolicy is in the same chart as all: its AuthorizationPolicy is an Istio CRD, which installing Istio creates/),
    ]));
  });

  test('CRDs in the same chart as their resources, or in a later one, are reported', () => {
    const { app, chart } = oneChart();
    new SpireCrds(chart, 'Crds');
    expect(synthErrors(app)).toContainEqual(expect.stringContaining('all/Identity/Resource is in the same chart as all: its CRD must be established first'));
  });

  test('CRDs installed by another tool are accepted when stated', () => {
    const { app } = oneChart();
    SpireCrds.installedElsewhere(app);
    expect(synthErrors(app).filter((error) => /spire.spiffe.io CRDs|its CRD must be established/.test(error))).toEqual([]);
  });

  test('a workload chart that does not depend on the Istio chart is reported; adding the dependency fixes it', () => {
    const stack = buildStack();
    const late = new Chart(stack.app, 'late', { disableResourceNameHashes: true });
    const namespace = MeshNamespace.create(late, 'Shop', { name: 'shop' });
    new SpireEnabledWorkload(late, 'Cart', { profile: stack.profile, identity: stack.identity, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('late/Cart/Deployment/Resource is in chart late, which does not come after istio: istio-proxy looks for the SPIRE socket once, at start')]);
    late.addDependency(stack.istio);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('an output type that merges or splits the charts loses the order', () => {
    const stack = buildStack();
    (stack.app as { yamlOutputType: YamlOutputType }).yamlOutputType = YamlOutputType.FILE_PER_APP;
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('app yamlOutputType: one file for the whole app')]);
  });
});

describe('collisions', () => {
  test('two ClusterSpiffeIds without a name get names from their paths', () => {
    const stack = buildStack();
    const first = new ClusterSpiffeId(stack.identities, 'Team-A', { server: stack.server });
    const second = new ClusterSpiffeId(stack.identities, 'Team-B', { server: stack.server });
    expect([first.name, second.name]).toEqual(['identities-team-a', 'identities-team-b']);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('two objects with the same kind, namespace and name stop synth with both paths', () => {
    const stack = buildStack();
    new ClusterSpiffeId(stack.identities, 'Again', { server: stack.server, name: 'istio-mesh-workloads' });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('ClusterSPIFFEID istio-mesh-workloads (spire.spiffe.io/v1alpha1) is defined twice, at identities/Identity/Resource and at identities/Again/Resource')]);
  });

  test('two ClusterSpiffeIds whose long paths differ only where a name is cut to 63 characters do not collide', () => {
    const stack = buildStack();
    const long = 'PaymentsLedgerReconciliationWorkersOfTheNightlySettlementRun';
    const identities = ['TeamAlpha', 'TeamBeta'].map((team) => new ClusterSpiffeId(new Construct(stack.identities, team), long, { server: stack.server }));
    expect(identities[0].name).not.toBe(identities[1].name);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('names that come out equal from different paths are still reported, as are equal explicit names', () => {
    const stack = buildStack();
    new ClusterSpiffeId(stack.identities, 'team-a', { server: stack.server });
    new ClusterSpiffeId(new Construct(stack.identities, 'team'), 'a', { server: stack.server });
    new ClusterSpiffeId(stack.identities, 'Payments', { server: stack.server, name: 'payments' });
    new ClusterSpiffeId(stack.identities, 'PaymentsAgain', { server: stack.server, name: 'payments' });
    expect(synthErrors(stack.app)).toEqual([
      expect.stringContaining('ClusterSPIFFEID identities-team-a (spire.spiffe.io/v1alpha1) is defined twice, at identities/team-a/Resource and at identities/team/a/Resource'),
      expect.stringContaining('ClusterSPIFFEID payments (spire.spiffe.io/v1alpha1) is defined twice, at identities/Payments/Resource and at identities/PaymentsAgain/Resource'),
    ]);
  });

  test('objects differing only in namespace do not collide', () => {
    const stack = buildStack();
    const shop = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const books = MeshNamespace.create(stack.apps, 'Books', { name: 'books' });
    for (const namespace of [shop, books]) {
      new SpireEnabledWorkload(stack.apps, `Web${namespace.name}`, { profile: stack.profile, identity: stack.identity, namespace, name: 'web', image: IMAGE });
    }
    expect(synthErrors(stack.app)).toEqual([]);
  });
});

test('two SPIRE servers and agents without names get namespaces and names from their paths', () => {
  const app = testApp();
  const [east, west] = ['east', 'west'].map((id) => new Chart(app, id, { disableResourceNameHashes: true }));
  const servers = [east, west].map((chart) => new SpireServer(chart, 'Server', { trustDomain: `${chart.node.id}.example`, clusterName: chart.node.id }));
  const agents = servers.map((server) => new SpireAgentDaemonSet(server.node.scope as Chart, 'Agent', { server }));
  expect(servers.map((server) => `${server.namespace}/${server.statefulSet.name}`)).toEqual(['east-server/east-server', 'west-server/west-server']);
  expect(agents.map((agent) => `${agent.namespace}/${agent.daemonSet.name}`)).toEqual(['east-agent/east-agent', 'west-agent/west-agent']);
  expect(synthErrors(app).filter((error) => error.includes('defined twice'))).toEqual([]);
});
