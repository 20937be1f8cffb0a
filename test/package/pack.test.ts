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
