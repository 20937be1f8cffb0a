// The floor `npm run bench` compares with: a plain-JavaScript cdk8s app of one ConfigMap, run by
// `node`, plus BENCH_WORKLOADS workloads rendering about as the SPIRE-enabled workloads of
// bench/scale-app.ts do (ServiceAccount, Deployment, Service), written with cdk8s-plus alone.
const { ApiObject, App, Chart, Size } = require('cdk8s');

const app = new App();
const chart = new Chart(app, 'bare');
new ApiObject(chart, 'Config', { apiVersion: 'v1', kind: 'ConfigMap', data: { key: 'value' } });
const count = Number(process.env.BENCH_WORKLOADS ?? '0');
if (count > 0) addPlainWorkloads(chart, count);
app.synth();

function addPlainWorkloads(scope, workloads) {
  const kplus = require('cdk8s-plus-27');
  for (let index = 0; index < workloads; index++) {
    const name = `workload-${index}`;
    const metadata = { name, namespace: 'bench' };
    const serviceAccount = new kplus.ServiceAccount(scope, `ServiceAccount${index}`, { metadata, automountToken: false });
    const deployment = new kplus.Deployment(scope, `Deployment${index}`, {
      metadata,
      replicas: 1,
      serviceAccount,
      podMetadata: { labels: { 'app': name, 'spiffe.io/spire-managed-identity': 'true' }, annotations: { 'inject.istio.io/templates': 'sidecar,spire' } },
      securityContext: { ensureNonRoot: true },
    });
    deployment.addContainer({
      name,
      image: 'docker.io/mccutchen/go-httpbin:v2.15.0',
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'http', number: 8080 }],
      readiness: kplus.Probe.fromHttpGet('/', { port: 8080 }),
      liveness: kplus.Probe.fromHttpGet('/', { port: 8080 }),
      resources: { cpu: { request: kplus.Cpu.millis(10) }, memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) } },
      securityContext: { user: 65532, group: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    const service = new kplus.Service(scope, `Service${index}`, { metadata, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] });
    service.selectLabel('app', name);
  }
}
