import * as path from 'path';
import { buildDefaultDeployment } from './lib/charts/default-deployment';
import { settingsFromEnvironment } from './lib/charts/default-settings';
import { SpireIstioApp } from './lib/constructs/spire-istio-app';
import { synthFederation } from './examples/federation/federation';

try {
  const app = new SpireIstioApp();
  buildDefaultDeployment(app, settingsFromEnvironment(process.env));
  app.synth();
  // The two-cluster federation example, beside the default deployment's output (dist-federation/ for dist/).
  synthFederation(path.join(path.dirname(app.outdir), 'dist-federation'));
} catch (error) {
  // Synth errors already name the construct, the value and the fix; a stack trace adds nothing.
  console.error((error as Error).message);
  process.exitCode = 1;
}
