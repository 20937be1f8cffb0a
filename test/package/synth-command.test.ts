import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { filesUnder, scratchDir } from '../support/files';

const REPO = path.resolve(__dirname, '..', '..');
const CDK8S = path.join(REPO, 'node_modules', '.bin', 'cdk8s');

function runIn(cwd: string, command: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** What a failed synth prints: the report alone, without the stack trace of a fault in the code. */
function expectReportAlone(stderr: string, report: RegExp): void {
  expect(stderr).toMatch(report);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/^Node\.js v/m);
}

// The real commands, as a developer or CI runs them; kept out of `npm test` for their time.
describe('npm run synth', () => {
  const npmRunSynth = (outdir: string, env: Record<string, string> = {}) => runIn(REPO, 'npm', ['run', '--silent', 'synth'], { CDK8S_OUTDIR: outdir, ...env });

  test('writes the whole output and names each file, then a bad setting fails with only the report and keeps that output', () => {
    const parent = scratchDir();
    const outdir = path.join(parent, 'dist');
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, 'stale.k8s.yaml'), 'stale: true\n');

    const good = npmRunSynth(outdir);
    expect(good.status).toBe(0);
    const written = filesUnder(outdir);
    expect(Object.keys(written)).toContain('0004-workloads.k8s.yaml');
    expect(Object.keys(written)).not.toContain('stale.k8s.yaml');
    // The federation example goes beside the output directory, one folder per cluster.
    expect(fs.readdirSync(path.join(parent, 'dist-federation'))).toEqual(['east', 'west']);
    const federation = Object.keys(filesUnder(path.join(parent, 'dist-federation')));
    expect(good.stdout.split('\n')).toEqual([
      ...Object.keys(written).sort().map((file) => path.relative(REPO, path.join(outdir, file))),
      ...federation.sort().map((file) => path.relative(REPO, path.join(parent, 'dist-federation', file))),
      '',
    ]);
    expect(good.stderr).toBe('');

    const bad = npmRunSynth(outdir, { SPIRE_TRUST_DOMAIN: 'Example.org' });
    expect(bad.status).toBe(1);
    expectReportAlone(bad.stderr, /^Validation failed with the following errors:\n {2}\[spire\/Server\] trustDomain "Example.org": a trust domain holds only lowercase/);
    const badMode = npmRunSynth(outdir, { ISTIO_SIDECAR_MODE: 'sidecar' });
    expect(badMode.status).toBe(1);
    expectReportAlone(badMode.stderr, /^ISTIO_SIDECAR_MODE "sidecar": must be one of native, classic\. Fix: /);
    expect(filesUnder(outdir)).toEqual(written);
    expect(fs.readdirSync(parent)).toEqual(['dist', 'dist-federation']);
  });
});

describe('cdk8s synth, with this repository\'s cdk8s.yaml', () => {
  // A directory for the CLI to write in, with links to what cdk8s.yaml names and the examples the
  // app reads; node finds the rest of the app from the real path of main.ts.
  const project = scratchDir();
  for (const entry of ['cdk8s.yaml', 'main.ts', 'scripts', 'examples']) {
    fs.symlinkSync(path.join(REPO, entry), path.join(project, entry));
  }
  const cdk8sSynth = (env: Record<string, string> = {}) => runIn(project, CDK8S, ['synth', '--check-upgrade', 'false'], env);

  test('writes dist/ as npm run synth does and lists the copy the CLI validates', () => {
    const result = cdk8sSynth();
    expect(result.status).toBe(0);
    expect(filesUnder(path.join(project, 'dist'))).toEqual(filesUnder(path.join(REPO, 'dist')));
    expect(filesUnder(path.join(project, 'dist-federation'))).toEqual(filesUnder(path.join(REPO, 'dist-federation')));
    const listed = result.stdout.split('\n').filter((line) => line.startsWith('  - ')).map((line) => line.slice(4)).sort();
    expect(listed).toEqual(Object.keys(filesUnder(path.join(REPO, 'dist'))).filter((file) => file.endsWith('.yaml')).sort().map((file) => `build/cdk8s-synth/${file}`));
  });

  test('an output directory named with -o gets the output, and dist/ is left alone', () => {
    const dist = path.join(project, 'dist');
    fs.mkdirSync(dist, { recursive: true });
    fs.writeFileSync(path.join(dist, 'last-good.k8s.yaml'), 'kind: List\n');
    const before = filesUnder(dist);
    const named = path.join(scratchDir(), 'out');
    const result = runIn(project, CDK8S, ['synth', '--check-upgrade', 'false', '-o', named], { SPIRE_TRUST_DOMAIN: 'named.example' });
    expect(result.status).toBe(0);
    expect(fs.readFileSync(path.join(named, '0001-spire.k8s.yaml'), 'utf8')).toContain('"trust_domain": "named.example"');
    expect(filesUnder(dist)).toEqual(before);
  });

  test('a failed synth prints the report and leaves dist/ as it was, where the CLI empties its own output', () => {
    const dist = path.join(project, 'dist');
    fs.mkdirSync(dist, { recursive: true });
    fs.writeFileSync(path.join(dist, 'last-good.k8s.yaml'), 'kind: List\n');
    const before = filesUnder(dist);
    const result = cdk8sSynth({ SPIRE_TRUST_DOMAIN: 'Example.org' });
    expect(result.status).not.toBe(0);
    // The app's report comes first; the CLI then adds its own error about the app's exit code.
    expect(result.stderr).toMatch(/^Validation failed with the following errors:\n {2}\[spire\/Server\] trustDomain "Example.org": .*\nError: command ".*" at .* returned a non-zero exit code 1\n/);
    expect(filesUnder(dist)).toEqual(before);
    expect(fs.existsSync(path.join(project, 'build', 'cdk8s-synth'))).toBe(false);
  });
});
