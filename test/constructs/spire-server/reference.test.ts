import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { Metrics } from '../../../lib/config/metrics';
import { ClusterSpiffeId } from '../../../lib/constructs/cluster-spiffe-id';
import { SpireAgentDaemonSet } from '../../../lib/constructs/spire-agent-daemon-set';
import { SpireCrds } from '../../../lib/constructs/spire-crds';
import { ISpireServer, SpireServer } from '../../../lib/constructs/spire-server';
import { isSpireServer } from '../../../lib/constructs/spire-server/reference';
import { testApp } from '../../support/stack';

/** A SPIRE server another tool installed, described by what the constructs read of it. */
class InstalledElsewhere extends Construct implements ISpireServer {
  public readonly trustDomain = 'corp.example';
  public readonly clusterName = 'prod';
  public readonly clusterDomain = 'cluster.local';
  public readonly namespace = 'platform-spire';
  public readonly serviceName = 'spire';
  public readonly address = 'spire.platform-spire.svc';
  public readonly port = 8081;
  public readonly caTtl = '24h';
  public readonly x509SvidTtl = '1h';
  public readonly className = 'platform';
  public readonly psatAudience = 'spire-server';
  public readonly serviceAccountName = 'spire';
  public readonly image = 'ghcr.io/spiffe/spire-server:1.15.3';
  public readonly ignoreNamespaces = ['^kube-system$'];
  public readonly metrics = Metrics.disabled();
}

describe('ISpireServer', () => {
  test('a SpireServer is one; a construct or an object without a server\'s values is not', () => {
    const app = Testing.app();
    expect(isSpireServer(new SpireServer(new Chart(app, 'spire'), 'Server', { trustDomain: 'example.org', clusterName: 'c' }))).toBe(true);
    expect(isSpireServer(new InstalledElsewhere(app, 'Elsewhere'))).toBe(true);
    expect(isSpireServer(new Construct(app, 'Other'))).toBe(false);
    expect(isSpireServer({ ...new InstalledElsewhere(app, 'Copy') })).toBe(false);
  });

  test('the agent and the identities read a server installed elsewhere as they read a SpireServer', () => {
    const app = testApp();
    SpireCrds.installedElsewhere(app);
    const server = new InstalledElsewhere(new Chart(app, 'spire'), 'Spire');
    const chart = new Chart(app, 'apps', { disableResourceNameHashes: true });
    chart.addDependency(server.node.scope as Chart);
    const agent = new SpireAgentDaemonSet(chart, 'Agent', { server });
    const identity = new ClusterSpiffeId(chart, 'Identity', { server });
    expect(agent.agentConfig.agent).toMatchObject({ trust_domain: 'corp.example', server_address: 'spire.platform-spire.svc', server_port: '8081' });
    const rendered = Testing.synth(chart);
    expect(rendered.find((o) => o.kind === 'ClusterSPIFFEID').spec.className).toBe('platform');
    const publisher = rendered.find((o) => o.kind === 'RoleBinding' && o.roleRef.name === 'spire-bundle-publisher');
    expect(publisher.subjects).toEqual([expect.objectContaining({ name: 'spire', namespace: 'platform-spire' })]);
    expect(identity.trustDomain).toBe('corp.example');
  });

  test('a plain object where a server belongs is refused at once, naming what to pass', () => {
    const chart = new Chart(testApp(), 'apps');
    const untyped = (value: unknown): any => value;
    expect(() => new ClusterSpiffeId(chart, 'Identity', untyped({ server: { trustDomain: 'example.org', className: 'x' } })))
      .toThrow('apps/Identity: the prop "server" is a plain object, not a SpireServer. Fix: pass the SpireServer whose controller manager reconciles it.');
  });
});
