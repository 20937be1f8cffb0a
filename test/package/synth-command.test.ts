import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { filesUnder, scratchDir } from '../support/files';

const REPO = path.resolve(__dirname, '..', '..');

function runIn(cwd: string, command: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

/** What a failed synth prints: the report alone, without the stack trace of a fault in the code. */
function expectReportAlone(stderr: string, report: RegExp): void {
  expect(stderr).toMatch(report);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/^Node\.js v/m);
}

// The real command, as a developer or CI runs it; kept out of `npm test` for its time.
describe('npm run synth', () => {
  const npmRunSynth = (outdir: string, env: Record<string, string> = {}) => runIn(REPO, 'npm', ['run', '--silent', 'synth'], { CDK8S_OUTDIR: outdir, ...env });

  test('writes the whole output, then a bad setting fails with only the report and keeps that output', () => {
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
