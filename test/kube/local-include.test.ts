import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Include, Testing } from 'cdk8s';
import { LocalInclude } from '../../lib/kube/local-include';

function manifestFile(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'local-include-')), 'manifest.yaml');
  fs.writeFileSync(file, text);
  return file;
}

/** Construct ids and rendered objects, in order, of what `load` put into a fresh chart. */
function loaded(load: (chart: Chart) => void) {
  const chart = new Chart(Testing.app(), 'chart');
  load(chart);
  return { ids: chart.node.findAll().map((construct) => construct.node.path), objects: Testing.synth(chart) };
}

test('a local manifest loads as cdk8s Include loads it: ids, order, YAML 1.1 values, empty documents dropped', () => {
  const file = manifestFile([
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: shop }\ndata: { mode: "0644" }',
    '',
    '# only a comment',
    'apiVersion: v1\nkind: Secret\nmetadata: { namespace: shop }\nstringData: { token: abc }',
    '{}',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec: { replicas: 2, paused: no, progressDeadlineSeconds: 0600 }',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { octal: 0755, flag: yes }',
  ].join('\n---\n'));
  const expected = loaded((chart) => new Include(chart, 'Manifest', { url: file }));
  const actual = loaded((chart) => new LocalInclude(chart, 'Manifest', { file }));
  expect(actual).toEqual(expected);
  expect(actual.ids).toContain('chart/Manifest/object0-secret-shop');
  expect(actual.objects).toHaveLength(4);
});

test('the loaded objects are listed in file order', () => {
  const file = manifestFile('apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: b }\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: { name: a }\n');
  const include = new LocalInclude(new Chart(Testing.app(), 'chart'), 'Manifest', { file });
  expect(include.apiObjects.map((apiObject) => apiObject.name)).toEqual(['b', 'a']);
});

test('a file that is not YAML is refused with its name and the parser\'s reason', () => {
  const file = manifestFile('apiVersion: v1\nkind: [ConfigMap\n');
  expect(() => new LocalInclude(new Chart(Testing.app(), 'chart'), 'Manifest', { file })).toThrow(new RegExp(`${file}: not YAML: .+`));
});
