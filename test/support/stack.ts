import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { ClusterSpiffeId, ClusterSpiffeIdOptions } from '../../lib/constructs/cluster-spiffe-id';
import { IstioSpireProfile, IstioSpireProfileOptions } from '../../lib/constructs/istio-spire-profile';
import { SpiffeCsiDriver, SpiffeCsiDriverOptions } from '../../lib/constructs/spiffe-csi-driver';
import { SpireAgentOptions, SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireCrds } from '../../lib/constructs/spire-crds';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { SpireServer, SpireServerProps } from '../../lib/constructs/spire-server';

export interface StackOverrides {
  readonly server?: Partial<SpireServerProps>;
  readonly agent?: SpireAgentOptions;
  readonly csiDriver?: SpiffeCsiDriverOptions;
  readonly identity?: ClusterSpiffeIdOptions;
  readonly profile?: IstioSpireProfileOptions;
}

/** A SpireIstioApp writing into a fresh directory; the wiring report has tests of its own. */
export function testApp(): SpireIstioApp {
  return new SpireIstioApp({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-test-')), wiringReport: false });
}

function stageChart(app: App, id: string, after?: Chart): Chart {
  const chart = new Chart(app, id, { disableResourceNameHashes: true });
  if (after) chart.addDependency(after);
  return chart;
}

/**
 * A complete SPIRE + Istio stack, one chart per apply stage, with parts
 * overridden per test; `apps` is the stage for workloads.
 */
export function buildStack(overrides: StackOverrides = {}) {
  const app = testApp();
  const crds = stageChart(app, 'crds');
  new SpireCrds(crds, 'Crds');
  const chart = stageChart(app, 'spire', crds);
  const server = new SpireServer(chart, 'Server', { trustDomain: 'example.org', clusterName: 'test', ...overrides.server });
  const agent = new SpireAgentDaemonSet(chart, 'Agent', { ...overrides.agent, server });
  const csiDriver = new SpiffeCsiDriver(chart, 'Csi', { ...overrides.csiDriver, agent });
  const identities = stageChart(app, 'identities', chart);
  const identity = new ClusterSpiffeId(identities, 'Identity', { name: 'istio-mesh-workloads', ...overrides.identity, server });
  const istio = stageChart(app, 'istio', identities);
  const profile = new IstioSpireProfile(istio, 'Profile', { ...overrides.profile, csiDriver });
  const apps = stageChart(app, 'apps', istio);
  return { app, chart, identities, istio, apps, server, agent, csiDriver, identity, profile };
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
