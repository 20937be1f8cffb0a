/**
 * The default deployment plus BENCH_WORKLOADS extra SPIRE-enabled workloads in
 * the workloads chart, for measuring how synth grows with the mesh.
 */
import { buildDefaultDeployment } from '../lib/charts/default-deployment';
import { settingsFromEnvironment } from '../lib/charts/default-settings';
import { MeshNamespace } from '../lib/constructs/mesh-namespace';
import { SpireEnabledWorkload } from '../lib/constructs/spire-enabled-workload';
import { SpireIstioApp } from '../lib/constructs/spire-istio-app';
import { DefaultImages } from '../lib/spire/images';

const count = Number(process.env.BENCH_WORKLOADS ?? '0');
const app = new SpireIstioApp();
const { mesh } = buildDefaultDeployment(app, settingsFromEnvironment({}));
const namespace = MeshNamespace.create(mesh.workloads, 'BenchNamespace', { name: 'bench' });
for (let index = 0; index < count; index++) {
  new SpireEnabledWorkload(mesh.workloads, `Bench${index}`, {
    profile: mesh.profile,
    identity: mesh.meshIdentity,
    namespace,
    name: `workload-${index}`,
    image: DefaultImages.DEMO_HTTPBIN,
    port: 8080,
  });
}
app.synth();
