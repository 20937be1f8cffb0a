import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { buildDefaultDeployment } from './lib/charts/default-deployment';
import { settingsFromEnvironment } from './lib/charts/default-settings';
import { SpireIstioApp } from './lib/constructs/spire-istio-app';
import { synthFederation } from './examples/federation/federation';

/** Every file under a directory, in a stable order. */
function filesIn(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/**
 * `cdk8s synth` empties its output directory before it starts the app, so cdk8s.yaml gives it a
 * scratch one (--cli-scratch, which the CLI passes on as CDK8S_OUTDIR) and the app its real one
 * (--outdir), which a failed synth leaves as it was; the CLI then lists and validates a copy of
 * what the app wrote. An output directory the user names (`cdk8s synth -o DIR`) is written directly.
 */
function outputDirs(outdir: string | undefined, cliScratch: string | undefined, cliOutdir: string | undefined) {
  const scratchRun = cliOutdir !== undefined && cliScratch !== undefined && path.resolve(cliOutdir) === path.resolve(cliScratch);
  return { outdir: scratchRun || cliOutdir === undefined ? outdir : cliOutdir, copyTo: scratchRun ? cliOutdir : undefined };
}

// A synth failure prints its report alone and exits 1 (see lib/validation/synth-failure.ts); any
// other error is a fault of the code and keeps its stack.
const { values: options } = parseArgs({ options: { 'outdir': { type: 'string' }, 'cli-scratch': { type: 'string' } } });
const dirs = outputDirs(options.outdir, options['cli-scratch'], process.env.CDK8S_OUTDIR);
const app = new SpireIstioApp({ outdir: dirs.outdir });
buildDefaultDeployment(app, settingsFromEnvironment(process.env));
app.synth();
// The two-cluster federation example, beside the default deployment's output (dist-federation/ for dist/).
const federationOutdir = path.join(path.dirname(app.outdir), 'dist-federation');
synthFederation(federationOutdir);
for (const file of [...filesIn(app.outdir), ...filesIn(federationOutdir)]) console.log(path.relative('.', file));
if (dirs.copyTo !== undefined) fs.cpSync(app.outdir, dirs.copyTo, { recursive: true });
