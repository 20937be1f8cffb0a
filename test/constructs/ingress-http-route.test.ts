import { Chart, JsonPatch } from 'cdk8s';
import { IngressHttpRoute, IngressHttpRouteProps } from '../../lib/constructs/ingress-http-route';
import { IstioIngressGateway } from '../../lib/constructs/istio-ingress-gateway';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { buildStack, synthErrors } from '../support/stack';

const IMAGE = 'registry.example/web:2.0.1';

function routeStack(serverOverrides = {}) {
  const stack = buildStack({ server: serverOverrides });
  const { apps, profile, identity } = stack;
  const ingress = MeshNamespace.create(apps, 'Ingress', { name: 'ingress' });
  const gateway = new IstioIngressGateway(apps, 'Gateway', { profile, identity, namespace: ingress, name: 'edge' });
  const namespace = MeshNamespace.create(apps, 'Shop', { name: 'shop' });
  const web = new SpireEnabledWorkload(apps, 'Web', { profile, identity, namespace, name: 'web', image: IMAGE, port: 8080 });
  const route = (overrides: Partial<IngressHttpRouteProps> = {}) =>
    new IngressHttpRoute(apps, 'Route', { gateway, backend: web, hosts: ['web.example.org'], name: 'web', ...overrides });
  return { ...stack, gateway, web, route };
}

describe('IngressHttpRoute', () => {
  test('the Gateway selects the gateway pods on its HTTP port; the VirtualService binds to it and sends to the Service', () => {
    const { app, gateway, web, route } = routeStack();
    const { gatewayObject, virtualService } = route();
    expect(synthErrors(app)).toEqual([]);
    expect(gatewayObject.toJson()).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'web', namespace: 'ingress' },
      spec: {
        selector: gateway.selectorLabel,
        servers: [{ port: { number: gateway.httpPort, name: 'http', protocol: 'HTTP' }, hosts: ['web.example.org'] }],
      },
    });
    expect(virtualService.toJson()).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web.example.org'],
        gateways: ['ingress/web'],
        http: [{ route: [{ destination: { host: 'web.shop.svc.cluster.local', port: { number: web.service!.toJson().spec.ports[0].port } } }] }],
      },
    });
    // The gateway's Service really opens the port the Gateway listens on.
    expect(gateway.service.toJson().spec.ports.map((port: { port: number }) => port.port)).toContain(gateway.httpPort);
  });

  test('the destination host follows the cluster domain SPIRE is configured with', () => {
    const { route } = routeStack({ clusterDomain: 'corp.internal' });
    expect(route().destinationHost).toBe('web.shop.svc.corp.internal');
  });

  test('a port the Service does not expose is rejected with the ports it does', () => {
    const { app, route } = routeStack();
    route({ port: 9090 });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[apps/Route] port "9090": the Service exposes only port 8080, so requests to this port reach nothing. Fix: route to port 8080')]);
  });

  test('hosts that are not DNS names or "*", and no hosts at all, are rejected', () => {
    const { app, route } = routeStack();
    route({ hosts: ['Web.Example.org', 'http://web.example.org', '*'] });
    expect(synthErrors(app)).toEqual([
      expect.stringContaining('host "Web.Example.org": a route host is "*" or a lowercase DNS name'),
      expect.stringContaining('host "http://web.example.org": a route host is "*" or a lowercase DNS name'),
    ]);
    const other = routeStack();
    other.route({ hosts: [] });
    expect(synthErrors(other.app)).toEqual([expect.stringContaining('hosts "[]": a route without hosts matches no request')]);
  });

  test('a Gateway selector that no longer matches the gateway pods is rejected', () => {
    const { app, gateway, route } = routeStack();
    route();
    gateway.deployment.addJsonPatch(JsonPatch.replace('/spec/template/metadata/labels/istio', 'edge-gateway'));
    expect(synthErrors(app)).toEqual([expect.stringContaining('gateway selector "istio=ingressgateway": the selector matches no gateway pod')]);
  });

  test('a backend without a Service is refused at once, naming the backend', () => {
    const { apps, profile, identity, gateway } = routeStack();
    const namespace = MeshNamespace.create(apps, 'Jobs', { name: 'jobs' });
    const worker = new SpireEnabledWorkload(apps, 'Worker', { profile, identity, namespace, name: 'worker', image: IMAGE });
    expect(() => new IngressHttpRoute(apps, 'WorkerRoute', { gateway, backend: worker, hosts: ['*'] }))
      .toThrow('apps/WorkerRoute: backend "apps/Worker" has no Service, so there is nothing to route to. Fix: give the workload a port.');
  });

  test('a route in a chart that is not applied after Istio is reported', () => {
    const { app, gateway, web } = routeStack();
    const early = new Chart(app, 'early', { disableResourceNameHashes: true });
    new IngressHttpRoute(early, 'Route', { gateway, backend: web, hosts: ['*'] });
    expect(synthErrors(app)).toEqual([expect.stringContaining('early/Route is in chart early, which does not come after istio: its Gateway and VirtualService are Istio CRDs')]);
  });
});
