import { App } from 'cdk8s';
import { buildDeployment, settingsFromEnvironment, synthesize } from './lib/deployment';

const app = new App();
synthesize(app, buildDeployment(app, settingsFromEnvironment(process.env)));
