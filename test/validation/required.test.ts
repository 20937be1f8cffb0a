import { Testing } from 'cdk8s';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { IstioIngressGateway } from '../../lib/constructs/istio-ingress-gateway';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpiffeAuthorizationPolicy } from '../../lib/constructs/spiffe-authorization-policy';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { SpireServer } from '../../lib/constructs/spire-server';
import { Caller } from '../../lib/mesh/caller';
import { buildStack } from '../support/stack';

// What plain JavaScript and Python callers can pass, which TypeScript would refuse.
const untyped = (value: unknown): any => value;

describe('required props, checked at the boundary', () => {
  const stack = buildStack();
  const shop = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
  const { profile, identity } = stack;
  const web = new SpireEnabledWorkload(stack.apps, 'Web', { profile, identity, namespace: shop, name: 'web', image: 'registry.example/web:1.0.0' });

  test('a policy without mtls names its path, the prop and what to pass', () => {
    expect(() => new SpiffeAuthorizationPolicy(stack.apps, 'Policy', untyped({ workload: web, allowFrom: [Caller.workload(web)] })))
      .toThrow('apps/Policy: the required prop "mtls" is missing. Fix: pass a StrictMtls that covers the workload\'s namespace');
  });

  test('a namespace given by name where a MeshNamespace belongs is refused before it renders ns/undefined', () => {
    expect(() => Caller.serviceAccount(untyped('shop'), 'frontend'))
      .toThrow('Caller.serviceAccount: the prop "namespace" is the string "shop", not a MeshNamespace. Fix: pass the MeshNamespace of the callers');
  });

  test.each([
    ['a construct without props', () => new SpireServer(Testing.app(), 'Server', untyped(undefined)), 'Server: the required prop "trustDomain" is missing'],
    ['a prop of the wrong type', () => new SpireServer(Testing.app(), 'Server', untyped({ trustDomain: 'example.org', clusterName: 7 })), 'Server: the prop "clusterName" is the number 7, not a string'],
    ['a construct prop given as a plain object', () => new IstioIngressGateway(stack.apps, 'Gateway', untyped({ profile, identity, namespace: { name: 'shop' } })), 'apps/Gateway: the prop "namespace" is a plain object, not a MeshNamespace'],
    ['enable without a profile', () => SpireEnabledWorkload.enable(web, untyped({ identity })), 'SpireEnabledWorkload.enable(apps/Web): the required prop "profile" is missing'],
    ['a namespace declared without saying whether injection is on', () => MeshNamespace.fromName(stack.apps, 'Payments', 'payments', untyped({})), 'apps/Payments: the required prop "istioInjection" is missing'],
    ['a mesh without a trust domain', () => new SpireIstioMesh(Testing.app(), 'Mesh', untyped({ clusterName: 'prod' })), 'Mesh: the required prop "trustDomain" is missing'],
  ])('%s is refused at once', (_case, create, message) => {
    expect(create).toThrow(message);
  });
});
