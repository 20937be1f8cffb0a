import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { filesUnder, scratchDir } from '../support/files';

const REPO = path.resolve(__dirname, '..', '..');

// The real command, as a developer or CI runs it; kept out of `npm test` for its time.
describe('npm run synth', () => {
  function npmRunSynth(outdir: string, env: Record<string, string> = {}) {
    return spawnSync('npm', ['run', 'synth'], {
      cwd: REPO,
      env: { ...process.env, CDK8S_OUTDIR: outdir, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  test('writes the whole output, then a bad setting fails with only the error and keeps that output', () => {
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

    const bad = npmRunSynth(outdir, { SPIRE_TRUST_DOMAIN: 'Example.org' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/trustDomain "Example.org": a trust domain holds only lowercase/);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
    expect(filesUnder(outdir)).toEqual(written);
    expect(fs.readdirSync(parent)).toEqual(['dist', 'dist-federation']);
  });
});
