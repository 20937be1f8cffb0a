import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

// Shared with the conformance suite, which runs the upstream tools on the same output.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { installPackedLibrary, run, synthReadmeExample } = require('../../conformance/lib/readme-app.js');

const REPO = path.resolve(__dirname, '..', '..');
// What package.json's files field means to publish, and the bundled dependencies.
const INTENDED_FILE = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|\.jsii|build\/(lib|imports|bin)\/.+\.(js|d\.ts)|node_modules\/(yaml|js-hcl-parser)\/.+)$/;
const REPO_NODE_MODULES = path.resolve(__dirname, '..', '..', 'node_modules');

// An app on cdk8s-plus-33 that hands the library its own objects and takes the library's out.
const PLUS33_APP = `
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import { IstioIngressGateway, MeshNamespace, ServiceType, SpireEnabledWorkload, SpireIstioApp, SpireIstioMesh, WorkloadProbe } from 'cdk8s-spire-istio';

const app = new SpireIstioApp();
const mesh = new SpireIstioMesh(app, 'Mesh', { trustDomain: 'corp.example', clusterName: 'prod' });
const { profile, meshIdentity: identity } = mesh;
const shop = MeshNamespace.create(mesh.workloads, 'Shop', { name: 'shop' });
const cart = new SpireEnabledWorkload(mesh.workloads, 'Cart', {
  profile, identity, namespace: shop, name: 'cart', image: 'registry.example/cart:1.4.2', port: 8080,
  probe: WorkloadProbe.fromTcpSocket({ periodSeconds: 5 }),
});
const deployment: ApiObject = cart.deployment;
deployment.addJsonPatch(JsonPatch.add('/spec/revisionHistoryLimit', 3));
new IstioIngressGateway(mesh.workloads, 'Gateway', { profile, identity, namespace: shop, serviceType: ServiceType.CLUSTER_IP });
const checkout = new kplus.Deployment(mesh.workloads, 'Checkout', {
  metadata: { namespace: 'shop' },
  serviceAccount: new kplus.ServiceAccount(mesh.workloads, 'CheckoutAccount', { metadata: { name: 'checkout', namespace: 'shop' } }),
  containers: [{ image: 'registry.example/checkout:2.0.1', portNumber: 8080, readiness: kplus.Probe.fromHttpGet('/ready') }],
});
SpireEnabledWorkload.enable(checkout, { profile, identity });
`;

describe('the npm package', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-user-'));
  let packedFiles: string[] = [];

  beforeAll(() => {
    packedFiles = installPackedLibrary(scratch);
  }, 120_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('holds compiled JS and type declarations, the license, the changelog and the bundled dependencies, and nothing else', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['build/lib/index.js', 'build/lib/index.d.ts', 'build/bin/check.js', 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.jsii']));
    expect(packedFiles.filter((file) => !INTENDED_FILE.test(file))).toEqual([]);
  });

  test('npm publish --dry-run warns about nothing and would publish the files npm pack packed', () => {
    const publish = spawnSync('npm', ['publish', '--dry-run', '--ignore-scripts', '--json'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(publish.status).toBe(0);
    // Publishing needs a login, which is the publisher's to give, not the package's.
    expect(publish.stderr.split('\n').filter((line) => line.startsWith('npm warn') && !/requires you to be logged in/.test(line))).toEqual([]);
    const [dryRun] = Object.values(JSON.parse(publish.stdout)) as { files: { path: string }[] }[];
    expect(dryRun.files.map((file) => file.path).sort()).toEqual([...packedFiles].sort());
  });

  test('uses cdk8s-plus as a dependency of its own, and an app on cdk8s-plus-33 compiles without reading it', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(scratch, 'node_modules', 'cdk8s-spire-istio', 'package.json'), 'utf8'));
    // Not a peer: the app chooses no version of it and may use another cdk8s-plus or none.
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['cdk8s', 'constructs']);
    expect(Object.keys(manifest.dependencies)).toContain('cdk8s-plus-27');

    const app = path.join(scratch, 'plus33');
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'main.ts'), PLUS33_APP);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'commonjs', target: 'ES2022', noEmit: true, skipLibCheck: false, types: [] },
      files: ['main.ts'],
    }));
    const read: string[] = run(path.join(REPO_NODE_MODULES, '.bin', 'tsc'), ['-p', '.', '--listFiles'], app).trim().split('\n');
    expect(read).toContainEqual(expect.stringContaining('/cdk8s-plus-33/'));
    expect(read.filter((file) => file.includes('/cdk8s-plus-27/'))).toEqual([]);
  });

  test('the README example type-checks strictly with cdk8s-plus-33 and synthesizes appliable stages', () => {
    synthReadmeExample(scratch, path.join(scratch, 'dist'));
    const files = fs.readdirSync(path.join(scratch, 'dist')).sort();
    expect(files).toEqual(['0000-crds.k8s.yaml', '0001-spire.k8s.yaml', '0002-identities.k8s.yaml', '0003-istio-profile.k8s.yaml', '0004-workloads.k8s.yaml', 'WIRING.md', 'helm']);
    expect(fs.readdirSync(path.join(scratch, 'dist', 'helm'))).toEqual(['istiod-values.yaml']);
    const workloads = YAML.parseAllDocuments(fs.readFileSync(path.join(scratch, 'dist', files[4]), 'utf8')).map((document) => document.toJS());
    const podOwners = workloads.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet');
    expect(podOwners.map((doc) => `${doc.metadata.namespace}/${doc.metadata.name}`).sort()).toEqual(['payments/ledger', 'shop/cart', 'shop/checkout']);
    for (const owner of podOwners) {
      expect(owner.spec.template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire');
      expect(owner.spec.template.metadata.labels['spiffe.io/spire-managed-identity']).toBe('true');
    }
    expect(workloads.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.metadata.name)).toEqual(['shop']);
    const cart = podOwners.find((doc) => doc.metadata.name === 'cart');
    expect(cart.spec.template.spec.containers[0].readinessProbe).toEqual({ httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 3 });
  }, 60_000);

  test('the check command is installed as a bin', () => {
    const out = run(path.join(scratch, 'node_modules', '.bin', 'cdk8s-spire-istio'), ['check', path.join(scratch, 'dist')], scratch);
    // The platform team's namespace is declared, not emitted, so the checker says it could not see its label.
    const lines = out.trim().split('\n');
    expect(lines).toContainEqual(expect.stringContaining('warning: StatefulSet payments/ledger: namespace payments is not in the input'));
    expect(out).toContain('checked: SPIRE configs: 1 server (JSON), 1 agent (JSON), 1 controller manager, 0 unreadable');
    expect(lines.at(-1)).toBe('0 error(s), 1 warning(s)');
  });
});
