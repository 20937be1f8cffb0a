import * as fs from 'fs';
import * as path from 'path';
import { YamlOutputType } from 'cdk8s';
import { runCheckCommand } from '../../lib/check/command';
import { WIRING_REPORT_FILE } from '../../lib/check/wiring-report';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { scratchDir } from '../support/files';
import { synthDeployment } from '../support/synth';

const { dir } = synthDeployment({}, true);
const report = fs.readFileSync(path.join(dir, WIRING_REPORT_FILE), 'utf8');

function meshReport(agentNodeDir?: string): string {
  const outdir = path.join(scratchDir(), 'out');
  const app = new SpireIstioApp({ outdir });
  new SpireIstioMesh(app, { trustDomain: 'example.org', clusterName: 'demo', agent: { hostSocketDir: agentNodeDir } });
  app.synth();
  return fs.readFileSync(path.join(outdir, WIRING_REPORT_FILE), 'utf8');
}

function changedLines(before: string, after: string): string[] {
  const old = new Set(before.split('\n'));
  return after.split('\n').filter((line) => !old.has(line));
}

test('the synth writes the wiring report of the default deployment next to the manifests', () => {
  expect(report).toMatchSnapshot();
});

test('the report names every SPIRE-enabled workload with the SPIFFE ID it gets', () => {
  expect(report).toContain('| Deployment bookstore/ratings | bookstore | ratings | istio-mesh-workloads | spiffe://example.org/ns/bookstore/sa/ratings |');
  expect(report).toContain('| Deployment bookstore/catalog | bookstore | catalog | bookstore-namespace-workloads | spiffe://example.org/ns/bookstore/sa/catalog |');
});

test('another node socket directory changes the lines that show the socket\'s way, and only those', () => {
  const before = meshReport();
  const after = meshReport('/var/lib/spire/sockets');
  const changed = changedLines(before, after);
  expect(changed.length).toBeGreaterThan(0);
  expect(changed.every((line) => line.includes('/var/lib/spire/sockets'))).toBe(true);
  expect(changed).toContainEqual(expect.stringMatching(/^\| SPIRE agent serves its socket .* in node directory `\/var\/lib\/spire\/sockets` \|$/));
});

test('an app can leave the report out', () => {
  const written = (wiringReport: boolean) => {
    const outdir = path.join(scratchDir(), 'out');
    new SpireIstioApp({ outdir, wiringReport }).synth();
    return fs.existsSync(path.join(outdir, WIRING_REPORT_FILE));
  };
  expect([written(true), written(false)]).toEqual([true, false]);
});

test('the report command prints the same report for manifests read from elsewhere', () => {
  const result = runCheckCommand(['report', dir]);
  expect(result.status).toBe(0);
  expect(`${result.stdout.join('\n')}\n`).toBe(report);
});

test('an app writing a folder per chart reports what its files hold, as the report command reads them', () => {
  const outdir = path.join(scratchDir(), 'out');
  const app = new SpireIstioApp({ outdir, yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE });
  new SpireIstioMesh(app, { trustDomain: 'example.org', clusterName: 'demo' });
  app.synth();
  const result = runCheckCommand(['report', outdir]);
  expect(result.status).toBe(0);
  const written = fs.readFileSync(path.join(outdir, WIRING_REPORT_FILE), 'utf8');
  expect(written).toContain('0001-spire/StatefulSet.spire-server.k8s.yaml');
  expect(written).toBe(`${result.stdout.join('\n')}\n`);
});

test('the report of input without SPIRE says what it lacks instead of inventing wiring', () => {
  const input = scratchDir();
  fs.writeFileSync(path.join(input, 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n');
  const [text] = runCheckCommand(['report', input]).stdout;
  expect(text).toContain('## ClusterSPIFFEIDs\n\nnone in the input');
  expect(text).toContain('## SPIRE-enabled workloads\n\nnone in the input');
  expect(text).toContain('1. `app.yaml`: 1 ConfigMap');
});

test('the report shows the route in from outside, from hosts through the Gateway to the Service', () => {
  expect(report).toContain('| httpbin.example.org | istio-ingress/httpbin (80 HTTP) | `istio=ingressgateway` | httpbin.demo.svc.cluster.local:8080 |');
});

test('a route whose Gateway is not in the input says so', () => {
  const input = scratchDir();
  fs.writeFileSync(path.join(input, 'route.yaml'), [
    'apiVersion: networking.istio.io/v1',
    'kind: VirtualService',
    'metadata: { name: web, namespace: shop }',
    'spec: { hosts: [web.example.org], gateways: [edge, mesh], http: [{ route: [{ destination: { host: web } }] }] }',
  ].join('\n'));
  const [text] = runCheckCommand(['report', input]).stdout;
  expect(text).toContain('| web.example.org | edge (not in the input) | unknown | web:any |');
  expect(text).not.toContain('| mesh');
});

test('the report shows who may call whom: the pods a policy guards, the pods each principal is, and the mTLS mode', () => {
  expect(report).toContain('| demo/httpbin | Deployment demo/httpbin | ALLOW | example.org/ns/demo/sa/sleep (Deployment demo/sleep), '
    + 'example.org/ns/istio-ingress/sa/istio-ingressgateway (Deployment istio-ingress/istio-ingressgateway) | STRICT (PeerAuthentication demo/default) |');
});

test('a policy whose principal no pod of the input gets, in a namespace without PeerAuthentication, says so', () => {
  const input = scratchDir();
  fs.writeFileSync(path.join(input, 'policy.yaml'), [
    'apiVersion: security.istio.io/v1',
    'kind: AuthorizationPolicy',
    'metadata: { name: web, namespace: shop }',
    'spec: { selector: { matchLabels: { app: web } }, rules: [{ from: [{ source: { principals: [example.org/ns/shop/sa/client] } }] }] }',
  ].join('\n'));
  const [text] = runCheckCommand(['report', input]).stdout;
  expect(text).toContain('| shop/web | none | ALLOW | example.org/ns/shop/sa/client (no pod in the input) | not set (Istio\'s default, PERMISSIVE) |');
});
