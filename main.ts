import { App } from 'cdk8s';
import { buildDeployment, settingsFromEnvironment, synthesize } from './lib/deployment';

try {
  const app = new App();
  synthesize(app, buildDeployment(app, settingsFromEnvironment(process.env)));
} catch (error) {
  // Synth errors already name the construct, the value and the fix; a stack trace adds nothing.
  console.error((error as Error).message);
  process.exitCode = 1;
}
