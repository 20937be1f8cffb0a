import * as path from 'path';
import { buildDefaultDeployment } from './lib/charts/default-deployment';
import { settingsFromEnvironment } from './lib/charts/default-settings';
import { SpireIstioApp } from './lib/constructs/spire-istio-app';
import { synthFederation } from './examples/federation/federation';

// A synth failure prints its report alone and exits 1 (see lib/validation/synth-failure.ts); any
// other error is a fault of the code and keeps its stack.
const app = new SpireIstioApp();
buildDefaultDeployment(app, settingsFromEnvironment(process.env));
app.synth();
// The two-cluster federation example, beside the default deployment's output (dist-federation/ for dist/).
synthFederation(path.join(path.dirname(app.outdir), 'dist-federation'));
