import { FederationProfileType, PartnerBundle } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { LabelSelectorOperator } from '../../lib/kube/label-selector';
import { ISTIO_SPIFFE_ID_TEMPLATE } from '../../lib/spire/spiffe-id-template';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const errorsWith = (identity: StackOverrides['identity']) => synthErrors(buildStack({ identity }).app);

describe('ClusterSpiffeId validation', () => {
  test('the Istio template is the default and is accepted', () => {
    const { identity, app } = buildStack();
    expect(identity.spiffeIdTemplate).toBe(ISTIO_SPIFFE_ID_TEMPLATE);
    expect(synthErrors(app)).toEqual([]);
    expect(identity.spiffeIdFor('shop', 'cart')).toBe('spiffe://example.org/ns/shop/sa/cart');
  });

  test.each([
    ['spiffe://example.com/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}', 'the ID must be spiffe://example.org/<path>'],
    ['spiffe://{{ .TrustDomain }}/workload/{{ .PodMeta.Name }}', 'Istio accepts a workload identity only in the form'],
    ['spiffe://{{ .TrustDomain }}/sa/{{ .PodSpec.ServiceAccountName }}/ns/{{ .PodMeta.Namespace }}', 'Istio accepts a workload identity only in the form'],
    ['spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccount }}', 'Istio accepts a workload identity only in the form'],
    ['spiffe://{{ .TrustDomain }}/ns/{{ .Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}', '{{ .Namespace }} is not a field the SPIRE Controller Manager provides'],
    ['spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace | upper }}/sa/{{ .PodSpec.ServiceAccountName }}', 'is not a field the SPIRE Controller Manager provides'],
  ])('template %s is rejected', (spiffeIdTemplate, rule) => {
    expect(errorsWith({ spiffeIdTemplate })).toEqual([expect.stringContaining(rule)]);
  });

  test.each([
    ['spiffe://example.org/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}', true],
    ['spiffe://{{ .TrustDomain }}/ns/{{.PodMeta.Namespace}}/sa/{{.PodSpec.ServiceAccountName}}', true],
    ['spiffe://{{ .TrustDomain }}/k8s/{{ .ClusterName }}/pod/{{ .PodMeta.Name }}', false],
  ])('template %s is accepted (Istio form required: %s)', (spiffeIdTemplate, istioIdentity) => {
    expect(errorsWith({ spiffeIdTemplate, istioIdentity })).toEqual([]);
  });

  test('federatesWith takes the server\'s ClusterFederatedTrustDomains, rendered as their trust domains', () => {
    const stack = buildStack();
    const partner = new ClusterFederatedTrustDomain(stack.identities, 'Partner', {
      server: stack.server,
      bundle: PartnerBundle.fromSpiffeJson('{"keys":[]}'),
      partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
    });
    stack.identity.federateWith(partner);
    expect(synthErrors(stack.app)).toEqual([]);
    expect((stack.identity.node.findChild('Resource') as any).toJson().spec.federatesWith).toEqual(['partner.example']);
    expect((buildStack().identity.node.findChild('Resource') as any).toJson().spec).not.toHaveProperty('federatesWith');
  });

  test('federatesWith refuses a trust domain declared for another server, and our own', () => {
    const stack = buildStack();
    const other = buildStack({ server: { trustDomain: 'other.example' } });
    const elsewhere = new ClusterFederatedTrustDomain(other.identities, 'Partner', {
      server: other.server,
      partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
    });
    const own = new ClusterFederatedTrustDomain(other.identities, 'Own', {
      server: other.server,
      partner: { trustDomain: 'example.org', bundleEndpointUrl: 'https://bundle.example.org', profile: FederationProfileType.HTTPS_WEB },
    });
    stack.identity.federateWith(elsewhere, own);
    expect(synthErrors(stack.app)).toEqual([
      expect.stringContaining('federatesWith "partner.example": identities/Partner declares it for the server spire/Server, not this one'),
      expect.stringContaining('federatesWith "example.org": a workload does not federate with its own trust domain'),
    ]);
  });

  test('selectors must be valid and not empty', () => {
    expect(errorsWith({ podSelector: {} })).toEqual([expect.stringContaining('an empty podSelector without a namespaceSelector gives every pod in the cluster')]);
    expect(errorsWith({ podSelector: {}, namespaceSelector: { matchLabels: { team: 'a' } } })).toEqual([]);
    expect(errorsWith({ podSelector: { matchLabels: { 'bad key!': 'x' } } })).toEqual([expect.stringContaining('podSelector "bad key!": a label key')]);
    expect(errorsWith({ podSelector: { matchLabels: { app: 'not valid' } } })).toEqual([expect.stringContaining('podSelector "not valid": a label value')]);
    expect(errorsWith({ podSelector: { matchExpressions: [{ key: 'app', operator: LabelSelectorOperator.IN }] } })).toEqual([expect.stringContaining('In needs at least one value')]);
    expect(errorsWith({ podSelector: { matchExpressions: [{ key: 'app', operator: LabelSelectorOperator.IN, values: ['web'] }] } })).toEqual([]);
    expect(errorsWith({ namespaceSelector: { matchLabels: { 'team.example/owner': 'payments' } } })).toEqual([]);
  });

  test('TTLs are Go durations', () => {
    expect(errorsWith({ ttl: '2d' })).toEqual([expect.stringContaining('ttl "2d": a TTL is a positive Go duration')]);
    expect(errorsWith({ jwtTtl: '0s' })).toEqual([expect.stringContaining('jwtTtl "0s"')]);
    expect(errorsWith({ ttl: '1h30m', jwtTtl: '5m' })).toEqual([]);
  });

  test('className always comes from the server', () => {
    const { identity, server } = buildStack({ server: { className: 'mesh' } });
    expect((identity.node.findChild('Resource') as any).toJson().spec.className).toBe(server.className);
    expect(server.className).toBe('mesh');
  });

  test('admin and downstream are written only when set, as the CRD fields of the same name', () => {
    const specOf = (identity: StackOverrides['identity']) => (buildStack({ identity }).identity.node.findChild('Resource') as any).toJson().spec;
    expect(specOf({ admin: true, downstream: true })).toMatchObject({ admin: true, downstream: true });
    expect(specOf({ admin: false, downstream: false })).not.toHaveProperty('admin');
    expect(specOf({})).not.toHaveProperty('downstream');
  });
});
