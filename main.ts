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
 * scratch one (CDK8S_OUTDIR) and the app its real one (--outdir), which a failed synth leaves as
 * it was. The CLI then lists and validates a copy of what the app wrote.
 */
function copyForCdk8sCli(outdir: string, cliOutdir: string | undefined): void {
  if (cliOutdir === undefined || path.resolve(cliOutdir) === path.resolve(outdir)) return;
  fs.cpSync(outdir, cliOutdir, { recursive: true });
}

// A synth failure prints its report alone and exits 1 (see lib/validation/synth-failure.ts); any
// other error is a fault of the code and keeps its stack.
const { values: options } = parseArgs({ options: { outdir: { type: 'string' } } });
const app = new SpireIstioApp({ outdir: options.outdir });
buildDefaultDeployment(app, settingsFromEnvironment(process.env));
app.synth();
// The two-cluster federation example, beside the default deployment's output (dist-federation/ for dist/).
const federationOutdir = path.join(path.dirname(app.outdir), 'dist-federation');
synthFederation(federationOutdir);
for (const file of [...filesIn(app.outdir), ...filesIn(federationOutdir)]) console.log(path.relative('.', file));
copyForCdk8sCli(app.outdir, process.env.CDK8S_OUTDIR);
