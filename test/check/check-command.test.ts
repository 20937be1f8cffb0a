import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { synthDeployment } from '../support/synth';

const { dir } = synthDeployment();
const root = path.join(__dirname, '..', '..');

function runCheck(...paths: string[]) {
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'bin', 'check.ts'), 'check', ...paths], { encoding: 'utf8' });
  return { status: result.status, lines: result.stdout.trim().split('\n'), stderr: result.stderr };
}

/** A copy of the synthesized output with one file's objects edited. */
function brokenCopy(file: string, edit: (docs: any[]) => void): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'check-'));
  for (const name of fs.readdirSync(dir).filter((entry) => entry.endsWith('.k8s.yaml'))) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, name), 'utf8')).map((document) => document.toJS());
    if (name === file) edit(docs);
    fs.writeFileSync(path.join(copy, name), docs.map((doc) => YAML.stringify(doc)).join('---\n'));
  }
  return copy;
}

test('the project\'s own output is clean', () => {
  expect(runCheck(dir)).toEqual({ status: 0, lines: ['0 error(s), 0 warning(s)'], stderr: '' });
});

test('a workload no ClusterSPIFFEID selects is reported with file, object and fix', () => {
  const broken = brokenCopy('0004-workloads.k8s.yaml', (docs) => {
    delete docs.find((doc) => doc.metadata?.name === 'httpbin' && doc.kind === 'Deployment').spec.template.metadata.labels['spiffe.io/spire-managed-identity'];
  });
  const { status, lines } = runCheck(broken);
  expect(status).toBe(1);
  expect(lines).toEqual([
    `${path.join(broken, '0004-workloads.k8s.yaml')}: error: Deployment demo/httpbin: no ClusterSPIFFEID selects this pod, so it never gets an identity. Fix: add the labels a ClusterSPIFFEID podSelector matches, e.g. spiffe.io/spire-managed-identity: "true".`,
    '1 error(s), 0 warning(s)',
  ]);
});

test.each([
  ['a namespace without injection', '0004-workloads.k8s.yaml', (docs: any[]) => { docs.find((doc) => doc.kind === 'Namespace' && doc.metadata.name === 'demo').metadata.labels = {}; }, 'Deployment demo/sleep: namespace demo does not have Istio injection enabled'],
  ['a CSI driver serving another directory', '0001-spire.k8s.yaml', (docs: any[]) => {
    const pod = docs.find((doc) => doc.kind === 'DaemonSet').spec.template.spec;
    pod.volumes.find((volume: any) => volume.name === 'spire-agent-socket-dir').hostPath.path = '/run/other';
    pod.volumes.push({ name: 'agent-own', hostPath: { path: '/run/spire/agent-sockets' } });
    pod.containers[0].volumeMounts.find((mount: any) => mount.name === 'spire-agent-socket-dir').name = 'agent-own';
  }, 'DaemonSet spire-system/spire-agent: the CSI driver serves /run/other but the agent\'s socket is in node directory /run/spire/agent-sockets'],
  ['a trust domain mismatch in Istio', '0003-istio-profile.k8s.yaml', (docs: any[]) => { docs[0].spec.meshConfig.trustDomain = 'cluster.local'; }, 'IstioOperator istio-system/istio-spire: trust domain "cluster.local" differs from "example.org"'],
  ['a template for classic sidecars under native ones', '0003-istio-profile.k8s.yaml', (docs: any[]) => {
    const templates = docs[0].spec.values.sidecarInjectorWebhook.templates;
    templates.spire = templates.spire.replace('initContainers', 'containers');
  }, 'injection template "spire" patches istio-proxy in containers for native sidecar pods'],
  ['a CSI driver name typo', '0003-istio-profile.k8s.yaml', (docs: any[]) => {
    const templates = docs[0].spec.values.sidecarInjectorWebhook.templates;
    templates['spire-gateway'] = templates['spire-gateway'].replace('csi.spiffe.io', 'csi.spife.io');
  }, 'injection template "spire-gateway": volume workload-socket uses CSI driver "csi.spife.io"'],
])('%s is reported', (_what, file, edit, message) => {
  const { status, lines } = runCheck(brokenCopy(file, edit));
  expect(status).toBe(1);
  expect(lines).toContainEqual(expect.stringContaining(message));
});

test('a SPIRE config in HCL is said to be unchecked', () => {
  const broken = brokenCopy('0001-spire.k8s.yaml', (docs) => {
    docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['agent.conf']).data['agent.conf'] = 'agent {\n  trust_domain = "example.org"\n}\n';
  });
  const { status, lines } = runCheck(broken);
  expect(status).toBe(0);
  expect(lines).toContainEqual(expect.stringContaining('warning: ConfigMap spire-system/spire-agent: agent.conf is not JSON'));
});

test('unreadable input is a usage error, not a pass', () => {
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'check-')), 'bad.yaml');
  fs.writeFileSync(bad, 'a: [unclosed\n');
  expect(runCheck(bad).status).toBe(2);
  expect(runCheck().status).toBe(2);
});
