import { App, Chart, Testing } from 'cdk8s';
import { ClusterSpiffeId, ClusterSpiffeIdProps } from '../../lib/constructs/cluster-spiffe-id';
import { IstioSpireProfile, IstioSpireProfileProps } from '../../lib/constructs/istio-spire-profile';
import { SpiffeCsiDriver } from '../../lib/constructs/spiffe-csi-driver';
import { SpireAgentDaemonSet, SpireAgentDaemonSetProps } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireServer, SpireServerProps } from '../../lib/constructs/spire-server';

export interface StackOverrides {
  readonly server?: Partial<SpireServerProps>;
  readonly agent?: Partial<Omit<SpireAgentDaemonSetProps, 'server'>>;
  readonly identity?: Partial<Omit<ClusterSpiffeIdProps, 'server'>>;
  readonly profile?: Partial<Omit<IstioSpireProfileProps, 'csiDriver'>>;
}

/** A complete SPIRE + Istio stack in one chart, with parts overridden per test. */
export function buildStack(overrides: StackOverrides = {}) {
  const app: App = Testing.app();
  const chart = new Chart(app, 'stack', { disableResourceNameHashes: true });
  const server = new SpireServer(chart, 'Server', { trustDomain: 'example.org', clusterName: 'test', ...overrides.server });
  const agent = new SpireAgentDaemonSet(chart, 'Agent', { ...overrides.agent, server });
  const csiDriver = new SpiffeCsiDriver(chart, 'Csi', { agent });
  const identity = new ClusterSpiffeId(chart, 'Identity', { ...overrides.identity, server });
  const profile = new IstioSpireProfile(chart, 'Profile', { ...overrides.profile, csiDriver });
  return { app, chart, server, agent, csiDriver, identity, profile };
}

/** The validation messages a synth of the app fails with, or [] when it synthesizes. */
export function synthErrors(app: App): string[] {
  try {
    app.synthYaml();
    return [];
  } catch (error) {
    const [, ...lines] = (error as Error).message.split('\n');
    return lines.map((line) => line.trim());
  }
}
