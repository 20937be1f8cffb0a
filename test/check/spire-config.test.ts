import * as fs from 'fs';
import * as path from 'path';
import { parseSpireConfig } from '../../lib/check/spire-config';
import { objectsOf, synthDeployment } from '../support/synth';

const { objects } = synthDeployment();
const jsonConfig = (key: string) => JSON.parse(objectsOf(objects, 'ConfigMap').map((configMap) => configMap.data?.[key]).find(Boolean));
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');

test.each(['server.conf', 'agent.conf'])('%s written in HCL reads as the same config as its JSON form', (key) => {
  expect(parseSpireConfig(fixture(key))).toEqual({ format: 'HCL', config: jsonConfig(key) });
});

test('JSON reads as JSON', () => {
  expect(parseSpireConfig(JSON.stringify(jsonConfig('agent.conf')))).toEqual({ format: 'JSON', config: jsonConfig('agent.conf') });
});

test('several plugins of one type stay a list of one-key objects', () => {
  const { config } = parseSpireConfig('plugins {\n  NodeAttestor "a" {\n    plugin_data { x = 1 }\n  }\n  NodeAttestor "b" {\n    plugin_data { y = ["z"] }\n  }\n}\n') as { config: any };
  expect(config).toEqual({ plugins: { NodeAttestor: [{ a: { plugin_data: { x: 1 } } }, { b: { plugin_data: { y: ['z'] } } }] } });
});

test('broken HCL is unreadable, with the parser\'s position', () => {
  expect(parseSpireConfig(fixture('agent.conf').replace('trust_domain = "example.org"', 'trust_domain ='))).toEqual({
    format: 'unreadable',
    reason: expect.stringMatching(/^At \d+:\d+: /),
  });
});
