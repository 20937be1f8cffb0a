import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { manifestFiles } from '../lib/check/manifests';
import { buildDefaultDeployment } from '../lib/charts/default-deployment';
import { SpireIstioMesh } from '../lib/charts/spire-istio-mesh';
import { podTemplateIn } from '../lib/kube/pod-template';
import { selectorMatches } from '../lib/kube/label-selector';
import { DEFAULT_SETTINGS, objectsOf, synthDeployment } from './support/synth';
import { testApp } from './support/stack';

const first = synthDeployment();
const second = synthDeployment();

function readTree(dir: string): Record<string, string> {
  return Object.fromEntries(manifestFiles([dir]).map((file) => [path.relative(dir, file), fs.readFileSync(file, 'utf8')]));
}

test('two synths write byte-identical files', () => {
  const a = readTree(first.dir);
  expect(Object.keys(a).length).toBeGreaterThan(5);
  expect(readTree(second.dir)).toEqual(a);
});

test('files are numbered in apply order: CRDs, SPIRE, ClusterSPIFFEIDs, Istio profile, workloads', () => {
  const files = fs.readdirSync(first.dir).filter((file) => file.endsWith('.k8s.yaml')).sort();
  expect(files).toEqual([
    '0000-crds.k8s.yaml',
    '0001-spire.k8s.yaml',
    '0002-identities.k8s.yaml',
    '0003-istio-profile.k8s.yaml',
    '0004-workloads.k8s.yaml',
  ]);
  const kindsOf = (file: string) => new Set(first.objects.filter((object) => path.basename(object.file) === file).map(({ doc }) => doc.kind));
  expect(kindsOf(files[0])).toEqual(new Set(['CustomResourceDefinition']));
  expect(kindsOf(files[1])).toEqual(expect.objectContaining({}));
  expect([...kindsOf(files[1])]).toEqual(expect.arrayContaining(['StatefulSet', 'DaemonSet', 'CSIDriver', 'ValidatingWebhookConfiguration']));
  expect(kindsOf(files[2])).toEqual(new Set(['ClusterSPIFFEID']));
  expect(kindsOf(files[3])).toEqual(new Set(['IstioOperator']));
  expect([...kindsOf(files[4])]).toEqual(expect.arrayContaining(['Deployment', 'Namespace']));
  expect(first.objects.filter(({ doc }) => doc.kind === 'CustomResourceDefinition').every(({ file }) => path.basename(file) === files[0])).toBe(true);
});

test('within a file, each namespace comes before the objects in it', () => {
  const seen = new Set<string>();
  for (const { doc } of first.objects) {
    if (doc.kind === 'Namespace') seen.add(doc.metadata!.name!);
    const namespace = doc.metadata?.namespace;
    if (namespace && namespace !== 'istio-system') expect(seen).toContain(namespace);
  }
});

test('every scalar means the same to a YAML 1.1 reader (kubectl) as to YAML 1.2', () => {
  for (const text of Object.values(readTree(first.dir))) {
    const as11 = YAML.parseAllDocuments(text, { version: '1.1' }).map((document) => document.toJS());
    const as12 = YAML.parseAllDocuments(text, { version: '1.2' }).map((document) => document.toJS());
    expect(as11).toEqual(as12);
  }
});

test('a scalar YAML 1.1 reads differently would be caught', () => {
  const text = 'a: on\nb: 0755\n';
  const as11 = YAML.parse(text, { version: '1.1' });
  expect(as11).not.toEqual(YAML.parse(text, { version: '1.2' }));
});

test('no label derived from a construct path: what selects pods are labels of their own', () => {
  const texts = Object.values(readTree(first.dir)).join('\n');
  expect(texts).not.toContain('cdk8s.io/');
  const podLabels = first.objects.map(({ doc }) => podTemplateIn(doc)?.metadata?.labels).filter((labels) => labels !== undefined);
  for (const service of objectsOf(first.objects, 'Service')) {
    const selector = { matchLabels: service.spec.selector };
    expect(podLabels.filter((labels) => selectorMatches(selector, labels)).length).toBeGreaterThan(0);
  }
  for (const { doc } of first.objects.filter(({ doc }) => podTemplateIn(doc) !== undefined && doc.kind !== 'Pod' && doc.kind !== 'CronJob' && doc.kind !== 'Job')) {
    expect(selectorMatches(doc.spec.selector, podTemplateIn(doc).metadata.labels)).toBe(true);
  }
});

describe('chart snapshots', () => {
  const { mesh } = buildDefaultDeployment(testApp(), DEFAULT_SETTINGS);
  const charts = (['crds', 'spire', 'identities', 'istio', 'workloads'] as Array<keyof SpireIstioMesh>).map((stage) => [stage, mesh[stage]] as const);
  test.each(charts)('%s', (_name, chart) => {
    expect(Testing.synth(chart as Chart)).toMatchSnapshot();
  });
});
