// The floor `npm run bench` compares with: a plain-JavaScript cdk8s app of one ConfigMap, run by `node`.
const { ApiObject, App, Chart } = require('cdk8s');

const app = new App();
const chart = new Chart(app, 'bare');
new ApiObject(chart, 'Config', { apiVersion: 'v1', kind: 'ConfigMap', data: { key: 'value' } });
app.synth();
