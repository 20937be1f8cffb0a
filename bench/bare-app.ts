/** The smallest cdk8s app: one ConfigMap. The baseline for synth start-up. */
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

const app = new App();
const chart = new Chart(app, 'bare');
new kplus.ConfigMap(chart, 'Config', { data: { key: 'value' } });
app.synth();
