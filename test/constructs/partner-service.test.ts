import { ApiObject } from 'cdk8s';
import { FederationProfileType, PartnerBundle } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { PartnerService, PartnerServiceProps } from '../../lib/constructs/partner-service';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { buildStack, synthErrors } from '../support/stack';

const IMAGE = 'registry.example/client:1.0.0';

/** A client in namespace shop whose identity federates with partner.example, or not. */
function partnerStack(federates = true) {
  const stack = buildStack({ profile: { requireFederatedAuthorization: false } });
  const partner = new ClusterFederatedTrustDomain(stack.identities, 'Partner', {
    server: stack.server,
    bundle: PartnerBundle.fromSpiffeJson('{"keys":[]}'),
    partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
  });
  const identity = federates
    ? new ClusterSpiffeId(stack.identities, 'Federated', { server: stack.server, name: 'federated', podSelector: { matchLabels: { federated: 'true' } }, federatesWith: [partner] })
    : stack.identity;
  const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
  const client = new SpireEnabledWorkload(stack.apps, 'Client', { profile: stack.profile, identity, namespace, name: 'client', image: IMAGE });
  const service = (props: Partial<PartnerServiceProps> = {}) => new PartnerService(stack.apps, 'Orders', {
    profile: stack.profile, namespace, name: 'orders', partner, partnerNamespace: 'shop', partnerServiceAccount: 'orders',
    host: 'orders.shop.partner.example', port: 8080, callers: [client], ...props,
  });
  return { ...stack, partner, namespace, client, service };
}

const rendered = (service: PartnerService, id: string) => ApiObject.of(service.node.findChild(id)).toJson();

describe('PartnerService', () => {
  test('a MESH_INTERNAL ServiceEntry with an istio tlsMode endpoint and ISTIO_MUTUAL to the partner workload\'s ID, visible to its namespace only', () => {
    const { app, service } = partnerStack();
    const orders = service();
    expect(synthErrors(app)).toEqual([]);
    expect(orders.spiffeId).toBe('spiffe://partner.example/ns/shop/sa/orders');
    expect(rendered(orders, 'ServiceEntry')).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'orders', namespace: 'shop' },
      spec: {
        hosts: ['orders.shop.partner.example'],
        location: 'MESH_INTERNAL',
        resolution: 'DNS',
        ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
        endpoints: [{ address: 'orders.shop.partner.example', labels: { 'security.istio.io/tlsMode': 'istio' } }],
        exportTo: ['.'],
      },
    });
    expect(rendered(orders, 'DestinationRule').spec).toEqual({
      host: 'orders.shop.partner.example',
      exportTo: ['.'],
      trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://partner.example/ns/shop/sa/orders'] } },
    });
  });

  test('a caller whose identity does not federate with the partner cannot validate its certificate', () => {
    const { app, service } = partnerStack(false);
    service();
    expect(synthErrors(app)).toEqual([expect.stringContaining('[apps/Orders] callers "apps/Client": its ClusterSPIFFEID istio-mesh-workloads does not federate with partner.example, so its proxy cannot validate the partner workload\'s certificate')]);
  });

  test('a caller of another namespace does not see the entry; no caller at all is refused', () => {
    const stack = partnerStack();
    stack.service({ namespace: MeshNamespace.create(stack.apps, 'Other', { name: 'other' }) });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('callers "apps/Client": it runs in namespace shop, but the ServiceEntry and DestinationRule are visible in other only')]);
    const empty = partnerStack();
    empty.service({ callers: [] });
    expect(synthErrors(empty.app)).toEqual([expect.stringContaining('callers "[]": the ServiceEntry serves no workload of the app')]);
  });

  test('its Istio CRDs come after Istio is installed', () => {
    const stack = partnerStack();
    new PartnerService(stack.identities, 'Early', {
      profile: stack.profile, namespace: stack.namespace, name: 'early', partner: stack.partner, partnerNamespace: 'shop', partnerServiceAccount: 'orders',
      host: 'orders.shop.partner.example', port: 8080, callers: [stack.client],
    });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('identities/Early is in chart identities, which does not come after istio: its ServiceEntry and DestinationRule are Istio CRDs')]);
  });
});
