import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** What a user writes: their own chart, the project's constructs beside it. */
const USER_APP = `
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  ClusterSpiffeId, injectionEnabledNamespace, IstioSpireProfile, SpiffeCsiDriver,
  SpireAgentDaemonSet, SpireEnabledWorkload, SpireServer,
} from 'cdk8s-spire-istio';

const app = new App();
const platform = new Chart(app, 'platform', { disableResourceNameHashes: true });
const server = new SpireServer(platform, 'Server', { trustDomain: 'shop.example', clusterName: 'prod' });
const agent = new SpireAgentDaemonSet(platform, 'Agent', { server });
const csiDriver = new SpiffeCsiDriver(platform, 'Csi', { agent });
const identity = new ClusterSpiffeId(platform, 'Mesh', { server });
const profile = new IstioSpireProfile(platform, 'Istio', { csiDriver });

const shop = new Chart(app, 'shop', { disableResourceNameHashes: true });
shop.addDependency(platform);
const namespace = injectionEnabledNamespace(shop, 'Namespace', 'shop');
new kplus.ConfigMap(shop, 'Settings', { metadata: { namespace: 'shop' }, data: { currency: 'EUR' } });
new SpireEnabledWorkload(shop, 'Cart', { profile, identity, namespace, name: 'cart', image: 'registry.example/cart:1.4.2', port: 8080 });
app.synth();
`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the npm package', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-user-'));
  let packedFiles: string[] = [];

  beforeAll(() => {
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], ROOT));
    packedFiles = packed.files.map((file: { path: string }) => file.path);
    const tarball = path.join(scratch, packed.filename);
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'user-app', private: true }));
    // Peers and the tarball's dependencies come from the local npm cache that installing this repo filled.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball,
      `cdk8s@${require('cdk8s/package.json').version}`,
      `cdk8s-plus-27@${require('cdk8s-plus-27/package.json').version}`,
      `constructs@${require('constructs/package.json').version}`], scratch);
  }, 120_000);

  test('holds compiled JS and type declarations, and nothing of test/ or dist/', () => {
    const files = packedFiles;
    expect(files).toEqual(expect.arrayContaining(['build/lib/index.js', 'build/lib/index.d.ts', 'build/bin/check.js', 'package.json', 'README.md']));
    expect(files.filter((file) => /^(test|dist|lib|bench|conformance)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  test('a user\'s cdk8s app builds a SPIRE-enabled workload with it and synthesizes', () => {
    fs.writeFileSync(path.join(scratch, 'main.ts'), USER_APP);
    fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'commonjs', target: 'ES2022', outDir: 'out', skipLibCheck: false, types: [] },
      files: ['main.ts'],
    }));
    // Type-checks against the published declarations, then runs the compiled app.
    run(path.join(NODE_MODULES, '.bin', 'tsc'), ['-p', '.'], scratch);
    run('node', ['out/main.js'], scratch, { CDK8S_OUTDIR: path.join(scratch, 'dist') });
    const files = fs.readdirSync(path.join(scratch, 'dist')).sort();
    expect(files).toEqual(['0000-platform.k8s.yaml', '0001-shop.k8s.yaml']);
    const shop = YAML.parseAllDocuments(fs.readFileSync(path.join(scratch, 'dist', files[1]), 'utf8')).map((document) => document.toJS());
    const cart = shop.find((doc) => doc.kind === 'Deployment');
    expect(cart.spec.template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire');
    expect(shop.map((doc) => doc.kind)).toEqual(expect.arrayContaining(['ConfigMap', 'ServiceAccount', 'Service']));
  }, 60_000);

  test('the check command is installed as a bin', () => {
    const out = run(path.join(scratch, 'node_modules', '.bin', 'cdk8s-spire-istio'), ['check', path.join(scratch, 'dist')], scratch);
    expect(out.trim().split('\n').at(-1)).toBe('0 error(s), 0 warning(s)');
    expect(out).toContain('checked: SPIRE configs: 1 server (JSON), 1 agent (JSON), 1 controller manager, 0 unreadable');
  });
});
