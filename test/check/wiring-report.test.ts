import * as fs from 'fs';
import * as path from 'path';
import { YamlOutputType } from 'cdk8s';
import { runCheckCommand } from '../../lib/check/command';
import { WIRING_REPORT_FILE } from '../../lib/check/wiring-report';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { editedCopy, scratchDir } from '../support/files';
import { synthDeployment } from '../support/synth';
import { AGENT_CLUSTER, CLASSIC_SIDECARS, Edit, SLEEP_IMAGE, TEMPLATE_DRIVER, WORKLOADS_FILE } from '../support/wiring-edits';
import { mermaidGraph } from '../support/mermaid';

const { dir } = synthDeployment({}, true);
const report = fs.readFileSync(path.join(dir, WIRING_REPORT_FILE), 'utf8');

function meshReport(agentNodeDir?: string): string {
  const outdir = path.join(scratchDir(), 'out');
  const app = new SpireIstioApp({ outdir });
  new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'demo', agent: { hostSocketDir: agentNodeDir } });
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
  new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'demo' });
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

/** The report of the synthesized manifests with one edit, as the report command reads them. */
function editedReport([file, edit]: Edit): string {
  return runCheckCommand(['report', editedCopy(dir, file, edit)]).stdout.join('\n');
}

describe('per SPIRE config, the trust domain and the cluster its k8s_psat attestor names', () => {
  test('server, agent and controller manager each state theirs', () => {
    expect(report).toContain('| SPIRE server | `example.org` | attests `demo-cluster` (k8s_psat `clusters`) | ConfigMap spire-server/spire-server (0001-spire.k8s.yaml) |');
    expect(report).toContain('| SPIRE agent | `example.org` | `demo-cluster` (k8s_psat `cluster`) | ConfigMap spire-system/spire-agent (0001-spire.k8s.yaml) |');
    expect(report).toContain('| SPIRE Controller Manager | `example.org` | `demo-cluster` (`clusterName`) | ConfigMap spire-server/spire-server (0001-spire.k8s.yaml) |');
  });

  test('another agent cluster shows in the agent\'s row', () => {
    expect(editedReport(AGENT_CLUSTER)).toContain('| SPIRE agent | `example.org` | `other-cluster` (k8s_psat `cluster`) |');
  });
});

describe('per injection template, the CSI driver and where istio-proxy mounts it', () => {
  test('each SPIRE template of each Istio source', () => {
    expect(report).toContain('| spire | IstioOperator istio-system/istio-spire | `csi.spiffe.io` | `/run/secrets/workload-spiffe-uds`, read-only | initContainers (native sidecar), containers (classic sidecar) |');
    expect(report).toContain('| spire-gateway | istiod Helm values | `csi.spiffe.io` | `/run/secrets/workload-spiffe-uds`, read-only | containers |');
  });

  test('another driver in one template shows in its row', () => {
    expect(editedReport(TEMPLATE_DRIVER)).toContain('| spire | IstioOperator istio-system/istio-spire | `csi.example.org` |');
  });
});

describe('the sidecar mode and where it comes from', () => {
  test('native, from the pilot env of each Istio source', () => {
    expect(report).toContain('| IstioOperator istio-system/istio-spire | native sidecar (init container) | `values.pilot.env.ENABLE_NATIVE_SIDECARS`: "true" |');
    expect(report).toContain('| istiod Helm values | native sidecar (init container) | `pilot.env.ENABLE_NATIVE_SIDECARS`: "true" |');
  });

  test('classic once the env turns native sidecars off, and for a pod whose annotation says so', () => {
    const classic = editedReport(CLASSIC_SIDECARS);
    expect(classic).toContain('| IstioOperator istio-system/istio-spire | classic sidecar (container) | `values.pilot.env.ENABLE_NATIVE_SIDECARS`: "false" |');
    const annotated = editedReport([WORKLOADS_FILE, (docs) => {
      docs.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === 'sleep').spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar'] = 'false';
    }]);
    expect(annotated).toContain('| Deployment demo/sleep | classic sidecar (container) | its `sidecar.istio.io/nativeSidecar` annotation: "false" |');
  });
});

describe('every container image with its version', () => {
  test('SPIRE\'s, the CSI driver\'s and the workloads\'', () => {
    expect(report).toContain('| DaemonSet spire-system/spire-agent | spire-agent | `ghcr.io/spiffe/spire-agent` | 1.15.3 |');
    expect(report).toContain('| Deployment demo/sleep | sleep | `docker.io/curlimages/curl` | 8.11.1 |');
  });

  test('Istio\'s own images, which the install source leaves to the release', () => {
    expect(report).toContain('| IstioOperator istio-system/istio-spire | istiod, istio-proxy | not set: the istioctl release\'s own | the release\'s |');
  });

  test('a new version shows in its row', () => {
    expect(editedReport(SLEEP_IMAGE)).toContain('| Deployment demo/sleep | sleep | `docker.io/curlimages/curl` | 8.12.0 |');
  });
});

describe('the diagram', () => {
  const graph = mermaidGraph(report);

  test('is one connected graph', () => {
    expect(graph.components()).toBe(1);
  });

  test('follows the socket and the identity from the server through agent, CSI driver and template to the workloads and the policies that guard them', () => {
    expect(graph.path(['SPIRE server', 'SPIRE agent', 'CSI driver csi.spiffe.io', 'template spire', 'Deployment demo/sleep', 'AuthorizationPolicy demo/httpbin', 'Deployment demo/httpbin'])).toBe(true);
    expect(graph.path(['ClusterSPIFFEID istio-mesh-workloads', 'Deployment demo/sleep'])).toBe(true);
  });

  test('stays connected when the agent names a cluster the server does not attest, with that edge dotted', () => {
    const broken = mermaidGraph(editedReport(AGENT_CLUSTER));
    expect(broken.components()).toBe(1);
    expect(broken.edgeLabels('SPIRE server', 'SPIRE agent')).toEqual(['k8s_psat cluster other-cluster, not attested']);
  });
});
