import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** The README's example, verbatim: what a user copies into a fresh cdk8s app. */
export function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- readme-example:[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('README.md has no readme-example block');
  return `${match[1]}\n`;
}

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
      `cdk8s-plus-33@${require('cdk8s-plus-33/package.json').version}`,
      `constructs@${require('constructs/package.json').version}`], scratch);
  }, 120_000);

  test('holds compiled JS and type declarations, and nothing of test/ or dist/', () => {
    const files = packedFiles;
    expect(files).toEqual(expect.arrayContaining(['build/lib/index.js', 'build/lib/index.d.ts', 'build/bin/check.js', 'package.json', 'README.md']));
    expect(files.filter((file) => /^(test|dist|lib|bench|conformance)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  test('the README example type-checks strictly with cdk8s-plus-33 and synthesizes appliable stages', () => {
    fs.writeFileSync(path.join(scratch, 'main.ts'), readmeExample());
    fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'commonjs', target: 'ES2022', outDir: 'out', skipLibCheck: false, types: [] },
      files: ['main.ts'],
    }));
    // Type-checks against the published declarations, then runs the compiled app.
    run(path.join(NODE_MODULES, '.bin', 'tsc'), ['-p', '.'], scratch);
    run('node', ['out/main.js'], scratch, { CDK8S_OUTDIR: path.join(scratch, 'dist') });
    const files = fs.readdirSync(path.join(scratch, 'dist')).sort();
    expect(files).toEqual(['0000-crds.k8s.yaml', '0001-spire.k8s.yaml', '0002-identities.k8s.yaml', '0003-istio-profile.k8s.yaml', '0004-workloads.k8s.yaml', 'helm']);
    expect(fs.readdirSync(path.join(scratch, 'dist', 'helm'))).toEqual(['istiod-values.yaml']);
    const workloads = YAML.parseAllDocuments(fs.readFileSync(path.join(scratch, 'dist', files[4]), 'utf8')).map((document) => document.toJS());
    const podOwners = workloads.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet');
    expect(podOwners.map((doc) => `${doc.metadata.namespace}/${doc.metadata.name}`).sort()).toEqual(['payments/ledger', 'shop/cart', 'shop/checkout']);
    for (const owner of podOwners) {
      expect(owner.spec.template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire');
      expect(owner.spec.template.metadata.labels['spiffe.io/spire-managed-identity']).toBe('true');
    }
    expect(workloads.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.metadata.name)).toEqual(['shop']);
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
