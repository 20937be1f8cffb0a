import { buildDefaultDeployment } from './lib/charts/default-deployment';
import { settingsFromEnvironment } from './lib/charts/default-settings';
import { SpireIstioApp } from './lib/constructs/spire-istio-app';

try {
  const app = new SpireIstioApp();
  buildDefaultDeployment(app, settingsFromEnvironment(process.env));
  app.synth();
} catch (error) {
  // Synth errors already name the construct, the value and the fix; a stack trace adds nothing.
  console.error((error as Error).message);
  process.exitCode = 1;
}
