import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Include, JsonPatch } from 'cdk8s';
import * as kplus33 from 'cdk8s-plus-33';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { buildStack, synthErrors } from '../support/stack';

const IMAGE = 'registry.example/cart:1.4.2';
const pod = { spec: { serviceAccountName: 'owner', containers: [{ name: 'app', image: IMAGE }] } };
const POD_OWNERS: Array<[kind: string, apiVersion: string, spec: any, templatePath: string[]]> = [
  ['Deployment', 'apps/v1', { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, ...pod } }, ['spec', 'template']],
  ['StatefulSet', 'apps/v1', { serviceName: 'x', selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, ...pod } }, ['spec', 'template']],
  ['DaemonSet', 'apps/v1', { selector: { matchLabels: { app: 'x' } }, template: { metadata: {}, ...pod } }, ['spec', 'template']],
  ['ReplicaSet', 'apps/v1', { selector: { matchLabels: { app: 'x' } }, template: pod }, ['spec', 'template']],
  ['Job', 'batch/v1', { template: { ...pod, spec: { ...pod.spec, restartPolicy: 'Never' } } }, ['spec', 'template']],
  ['CronJob', 'batch/v1', { schedule: '@daily', jobTemplate: { spec: { template: pod } } }, ['spec', 'jobTemplate', 'spec', 'template']],
  ['Pod', 'v1', pod.spec, []],
];

function templateOf(apiObject: ApiObject, templatePath: string[]): any {
  const json = apiObject.toJson();
  return templatePath.reduce((node, key) => node[key], json);
}

describe('any pod owner gets a SPIRE identity', () => {
  test.each(POD_OWNERS)('a raw %s gets the labels and annotation in its pod template and the mesh checks', (kind, apiVersion, spec, templatePath) => {
    const stack = buildStack();
    const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const owner = new ApiObject(stack.apps, 'Owner', { apiVersion, kind, metadata: { name: 'owner', namespace: 'shop' }, spec });
    SpireEnabledWorkload.enable(owner, { profile: stack.profile, identity: stack.identity, namespace });
    expect(synthErrors(stack.app)).toEqual([]);
    const template = templateOf(owner, templatePath);
    expect(template.metadata.labels['spiffe.io/spire-managed-identity']).toBe('true');
    expect(template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire');
    // The checks run on raw objects too: a pod label that opts out is caught.
    owner.addJsonPatch(JsonPatch.add(`/${[...templatePath, 'metadata', 'labels', 'sidecar.istio.io~1inject'].join('/')}`, 'false'));
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('the pod opts out of injection')]);
  });

  test('a cdk8s-plus-33 Deployment is enabled like a plus-27 one, and finds its namespace by name', () => {
    const stack = buildStack();
    MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const deployment = new kplus33.Deployment(stack.apps, 'Modern', {
      metadata: { name: 'modern', namespace: 'shop' },
      serviceAccount: kplus33.ServiceAccount.fromServiceAccountName(stack.apps, 'ModernAccount', 'modern'),
      containers: [{ image: IMAGE }],
    });
    SpireEnabledWorkload.enable(deployment, { profile: stack.profile, identity: stack.identity });
    expect(synthErrors(stack.app)).toEqual([]);
    expect(deployment.podMetadata.getLabel('spiffe.io/spire-managed-identity')).toBe('true');
  });

  test('an object that owns no pods, or no object at all, is refused with the fix', () => {
    const stack = buildStack();
    const config = new ApiObject(stack.apps, 'Config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    expect(() => SpireEnabledWorkload.enable(config, { profile: stack.profile, identity: stack.identity })).toThrow(/apps\/Config: a ConfigMap owns no pods.*Fix: pass a Deployment/);
    expect(() => SpireEnabledWorkload.enable(stack.apps, { profile: stack.profile, identity: stack.identity })).toThrow(/apps: not a Kubernetes object/);
  });

  test('an Include: pod owners are chosen by kind, name, labels or predicate; choosing none is an error', () => {
    const stack = buildStack();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'include-')), 'app.yaml');
    fs.writeFileSync(file, ['web', 'api', 'worker'].map((name) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: shop, labels: { tier: ${name === 'worker' ? 'batch' : 'online'} } }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { serviceAccountName: ${name}, containers: [{ name: ${name}, image: "${IMAGE}" }] }
`).join('---\n') + '---\napiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec: { ports: [{ port: 80 }] }\n');
    MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const include = new Include(stack.apps, 'App', { url: file });
    const mesh = { profile: stack.profile, identity: stack.identity };
    expect(SpireEnabledWorkload.enableIncluded(include, { ...mesh, matchLabels: { tier: 'online' }, predicate: { matches: (apiObject) => apiObject.name !== 'api' } })
      .map((apiObject) => apiObject.name)).toEqual(['web']);
    expect(SpireEnabledWorkload.enableIncluded(include, { ...mesh, names: ['api'] }).map((apiObject) => apiObject.name)).toEqual(['api']);
    expect(() => SpireEnabledWorkload.enableIncluded(include, { ...mesh, kinds: ['StatefulSet'] })).toThrow(/apps\/App: no pod owner of the Include matches/);
    expect(synthErrors(stack.app)).toEqual([]);
    const annotated = include.apiObjects.filter((apiObject) => apiObject.toJson().spec.template?.metadata.annotations);
    expect(annotated.map((apiObject) => apiObject.name)).toEqual(['web', 'api']);
  });
});

describe('the service account the pods run as', () => {
  const DEFAULT_ACCOUNT = '[apps/Ledger] service account "default": the pods run as the default service account of namespace shop, so they share the ID spiffe://example.org/ns/shop/sa/default with every other pod there that runs as it, and no authorization policy can tell them apart. Fix: give the workload a ServiceAccount of its own (serviceAccountName in its pod spec), or set allowDefaultServiceAccount: true to accept the shared ID.';

  function ledger(serviceAccountName?: string) {
    const stack = buildStack();
    const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const template = { metadata: { labels: { app: 'ledger' } }, spec: { ...(serviceAccountName ? { serviceAccountName } : {}), containers: [{ name: 'ledger', image: IMAGE }] } };
    const owner = new ApiObject(stack.apps, 'Ledger', {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'ledger', namespace: 'shop' },
      spec: { serviceName: 'ledger', selector: { matchLabels: { app: 'ledger' } }, template },
    });
    return { stack, enable: (allowDefaultServiceAccount?: boolean) => SpireEnabledWorkload.enable(owner, { profile: stack.profile, identity: stack.identity, namespace, allowDefaultServiceAccount }) };
  }

  test.each([
    ['names none', undefined],
    ['names "default"', 'default'],
  ])('a pod owner that %s shares the namespace\'s default ID: a synth error naming the construct, the namespace and the fix', (_case, serviceAccountName) => {
    const { stack, enable } = ledger(serviceAccountName);
    enable();
    expect(synthErrors(stack.app)).toEqual([DEFAULT_ACCOUNT]);
  });

  test('a service account of its own passes', () => {
    const { stack, enable } = ledger('ledger');
    enable();
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('opting in accepts the shared ID', () => {
    const { stack, enable } = ledger();
    enable(true);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('a cdk8s-plus workload without a service account, and included YAML, are checked alike', () => {
    const stack = buildStack();
    const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const plain = new kplus33.Deployment(stack.apps, 'Plain', { metadata: { name: 'plain', namespace: 'shop' }, containers: [{ image: IMAGE }] });
    SpireEnabledWorkload.enable(plain, { profile: stack.profile, identity: stack.identity, namespace });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'include-')), 'app.yaml');
    fs.writeFileSync(file, `apiVersion: batch/v1
kind: Job
metadata: { name: migrate, namespace: shop }
spec:
  template:
    spec: { restartPolicy: Never, containers: [{ name: migrate, image: "${IMAGE}" }] }
`);
    SpireEnabledWorkload.enableIncluded(new Include(stack.apps, 'Migrations', { url: file }), { profile: stack.profile, identity: stack.identity, namespace });
    expect(synthErrors(stack.app)).toEqual([
      expect.stringMatching(/^\[apps\/Plain\] service account "default": the pods run as the default service account of namespace shop/),
      expect.stringMatching(/^\[apps\/Migrations\/migrate-job-shop\] service account "default"/),
    ]);
  });
});

describe('namespaces', () => {
  const workloadIn = (namespace: string, options: { mesh?: MeshNamespace } = {}) => {
    const stack = buildStack();
    const deployment = new kplus33.Deployment(stack.apps, 'Cart', {
      metadata: { name: 'cart', namespace },
      serviceAccount: kplus33.ServiceAccount.fromServiceAccountName(stack.apps, 'CartAccount', 'cart'),
      containers: [{ image: IMAGE }],
    });
    return { stack, enable: (mesh = options.mesh) => SpireEnabledWorkload.enable(deployment, { profile: stack.profile, identity: stack.identity, namespace: mesh }) };
  };

  test('a namespace declared by name with injection on is accepted without emitting it', () => {
    const { stack, enable } = workloadIn('payments');
    MeshNamespace.fromName(stack.apps, 'Payments', 'payments', { istioInjection: true });
    enable();
    expect(synthErrors(stack.app)).toEqual([]);
    expect(stack.app.synthYaml()).not.toContain('kind: Namespace\nmetadata:\n  labels:\n    istio-injection: enabled\n  name: payments');
  });

  test('a declared namespace without injection is reported as declared, labels as stated', () => {
    const { stack, enable } = workloadIn('payments');
    MeshNamespace.fromName(stack.apps, 'Payments', 'payments', { istioInjection: false });
    enable();
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('namespace "payments (declared with MeshNamespace.fromName, labels as stated)": Istio injects no sidecar')]);
  });

  test('a namespace the app does not know, or none at all, is an error that says how to declare it', () => {
    const unknown = workloadIn('payments');
    unknown.enable();
    expect(synthErrors(unknown.stack.app)).toEqual([expect.stringContaining('namespace "payments": the app does not know this namespace')]);
    const stack = buildStack();
    const bare = new kplus33.Deployment(stack.apps, 'Bare', { metadata: { name: 'bare' }, containers: [{ image: IMAGE }] });
    SpireEnabledWorkload.enable(bare, { profile: stack.profile, identity: stack.identity, allowDefaultServiceAccount: true });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('workload namespace "(none)": the workload names no namespace')]);
  });

  test('an ambient namespace is an error: ztunnel takes no identities from SPIRE', () => {
    const { stack, enable } = workloadIn('mesh');
    MeshNamespace.create(stack.apps, 'Mesh', { name: 'mesh', labels: { 'istio.io/dataplane-mode': 'ambient' } });
    enable();
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('namespace "mesh (created by MeshNamespace)": the namespace is in Istio ambient mode')]);
  });

  test('under a revision, the namespace must select that revision\'s injector', () => {
    const stack = buildStack({ profile: { revision: 'canary' } });
    const wrong = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    const right = MeshNamespace.create(stack.apps, 'Books', { name: 'books', revision: 'canary' });
    new SpireEnabledWorkload(stack.apps, 'Cart', { profile: stack.profile, identity: stack.identity, namespace: wrong, name: 'cart', image: IMAGE });
    new SpireEnabledWorkload(stack.apps, 'Shelf', { profile: stack.profile, identity: stack.identity, namespace: right, name: 'shelf', image: IMAGE });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('[apps/Cart/Deployment] namespace "shop (created by MeshNamespace)": the SPIRE templates live in the injector of revision "canary"')]);
  });

  test('a namespace is known to the app once', () => {
    const stack = buildStack();
    MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
    expect(() => MeshNamespace.fromName(stack.apps, 'ShopAgain', 'shop', { istioInjection: true })).toThrow(/namespace "shop" is already known to the app as apps\/Shop/);
  });

  test('a namespace-selecting identity reads the labels of an adopted Namespace', () => {
    const stack = buildStack();
    const namespace = new kplus33.Namespace(stack.apps, 'Team', { metadata: { name: 'team', labels: { 'istio-injection': 'enabled', team: 'a' } } });
    const team = MeshNamespace.fromNamespace(stack.apps, 'TeamNamespace', namespace);
    const teamIdentity = new ClusterSpiffeId(stack.identities, 'TeamA', { server: stack.server, podSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } });
    new SpireEnabledWorkload(stack.apps, 'Cart', { profile: stack.profile, identity: teamIdentity, namespace: team, name: 'cart', image: IMAGE });
    expect(synthErrors(stack.app)).toEqual([]);
    namespace.metadata.addLabel('team', 'b');
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('identity "team/cart": no ClusterSPIFFEID selects this pod')]);
  });
});
