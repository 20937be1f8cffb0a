import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthDeployment } from './support/synth';

const ROOT = path.join(__dirname, '..');
// Generated from Istio's own CRDs by scripts/import-istio.sh; the conformance suite keeps them current.
const ISTIO_IMPORTS = ['networking.istio.io.ts', 'security.istio.io.ts'];

test('imports/ is what cdk8s import generates from the project\'s own CRDs', () => {
  const { dir } = synthDeployment();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'imports-'));
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'),
    ['import', '--check-upgrade', 'false', '--language', 'typescript', '--output', out, path.join(dir, '0000-crds.k8s.yaml')], { cwd: out, stdio: 'ignore' });
  const generated = fs.readdirSync(out).sort();
  expect([...generated, ...ISTIO_IMPORTS].sort()).toEqual(fs.readdirSync(path.join(ROOT, 'imports')).sort());
  for (const file of generated) {
    expect(fs.readFileSync(path.join(out, file), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'imports', file), 'utf8'));
  }
});
