/**
 * The default deployment plus BENCH_WORKLOADS extra SPIRE-enabled workloads in
 * the workloads chart, for measuring how synth grows with the mesh.
 */
import { App } from 'cdk8s';
import { SpireEnabledWorkload } from '../lib/constructs/spire-enabled-workload';
import { DEMO_IMAGES } from '../lib/charts/workloads-chart';
import { buildDeployment, DEFAULT_SETTINGS, synthesize } from '../lib/deployment';
import { injectionEnabledNamespace } from '../lib/mesh-checks';

const count = Number(process.env.BENCH_WORKLOADS ?? '0');
const app = new App();
const deployment = buildDeployment(app, DEFAULT_SETTINGS);
const { workloads, istio, identities } = deployment;
const namespace = injectionEnabledNamespace(workloads, 'BenchNamespace', 'bench');
for (let index = 0; index < count; index++) {
  new SpireEnabledWorkload(workloads, `Bench${index}`, {
    profile: istio.profile,
    identity: identities.meshIdentity,
    namespace,
    name: `workload-${index}`,
    image: DEMO_IMAGES.httpbin,
    port: 8080,
  });
}
synthesize(app, deployment);
