import { canonicalMemory } from '../../lib/kube/server-normal-form';
import { synthDeployment } from '../support/synth';

const { objects } = synthDeployment();

/** Every [path, value] pair in the synthesized objects for which `matches` holds. */
function findFields(matches: (key: string, value: unknown, parent: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (node: unknown, at: string[]) => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (matches(key, value, at[at.length - 1])) found.push(`${[...at, key].join('.')}=${JSON.stringify(value)}`);
      walk(value, [...at, key]);
    }
  };
  for (const { doc } of objects) walk(doc, [`${doc.kind}/${doc.metadata?.name}`]);
  return found;
}

test('memory sizes that are whole GiB are written as the server stores them', () => {
  expect(canonicalMemory('1024Mi')).toBe('1Gi');
  expect(canonicalMemory('3072Mi')).toBe('3Gi');
  expect(canonicalMemory('512Mi')).toBeUndefined();
  expect(canonicalMemory('0Mi')).toBeUndefined();
  expect(canonicalMemory('1Gi')).toBeUndefined();
});

test('the output holds no field the API server drops or rewrites, so a re-apply is unchanged', () => {
  expect(findFields((key, value) => (key === 'externalIPs' || key === 'resourceNames') && Array.isArray(value) && value.length === 0)).toEqual([]);
  expect(findFields((key, value) => (key === 'minReadySeconds' && value === 0) || (key === 'hostNetwork' && value === false))).toEqual([]);
  expect(findFields((_key, value, parent) => (parent === 'limits' || parent === 'requests') && typeof value === 'string' && canonicalMemory(value) !== undefined)).toEqual([]);
});

test('container port names are unique within each pod, so the API server warns about none', () => {
  const duplicates: string[] = [];
  for (const { doc } of objects) {
    const pod = doc.spec?.template?.spec;
    if (!pod) continue;
    const names = [...(pod.initContainers ?? []), ...(pod.containers ?? [])]
      .flatMap((container: any) => (container.ports ?? []).map((port: any) => port.name).filter(Boolean));
    for (const name of new Set(names)) {
      if (names.filter((n: string) => n === name).length > 1) duplicates.push(`${doc.kind}/${doc.metadata?.name}: ${name}`);
    }
  }
  expect(duplicates).toEqual([]);
});

test('no TypeScript field name of the generated classes leaks into the rendered schema', () => {
  expect(findFields((key) => /^xKubernetes/.test(key))).toEqual([]);
});

test('claim templates and webhook rules are written with the defaults the server stores in lists it replaces whole', () => {
  const statefulSets = objects.filter(({ doc }) => doc.kind === 'StatefulSet').map(({ doc }) => doc);
  for (const template of statefulSets.flatMap((s) => s.spec.volumeClaimTemplates ?? [])) {
    expect(template).toMatchObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', spec: { volumeMode: 'Filesystem' }, status: { phase: 'Pending' } });
  }
  expect(statefulSets.length).toBeGreaterThan(0);
  const rules = objects.filter(({ doc }) => doc.kind === 'ValidatingWebhookConfiguration').flatMap(({ doc }) => doc.webhooks.flatMap((w: any) => w.rules));
  expect(rules.length).toBeGreaterThan(0);
  expect(rules.every((rule: any) => rule.scope === '*')).toBe(true);
});

test('field references carry the apiVersion the server defaults, so server-side apply does not conflict', () => {
  const refs = findFields((key) => key === 'fieldRef');
  expect(refs.length).toBeGreaterThan(0);
  expect(refs.filter((ref) => !ref.includes('"apiVersion":"v1"'))).toEqual([]);
});
