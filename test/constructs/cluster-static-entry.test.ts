import { ApiObject, Chart } from 'cdk8s';
import { FederationProfileType, PartnerBundle } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { ClusterStaticEntry, ClusterStaticEntryProps } from '../../lib/constructs/cluster-static-entry';
import { buildStack, synthErrors } from '../support/stack';

const NODE_AGENT = 'spiffe://example.org/spire/agent/join_token/vm-1';
const VALID = { spiffeId: 'spiffe://example.org/vm/billing', parentId: NODE_AGENT, selectors: ['unix:uid:1000'] };

/** A stack with one static entry in the identities stage. */
function withEntry(props: Partial<ClusterStaticEntryProps> = {}, federatesWith: string[] = []) {
  const stack = buildStack();
  const domains = federatesWith.map((trustDomain) => new ClusterFederatedTrustDomain(stack.identities, trustDomain, {
    server: stack.server,
    bundle: PartnerBundle.fromSpiffeJson('{"keys":[]}'),
    partner: { trustDomain, bundleEndpointUrl: `https://bundle.${trustDomain}`, profile: FederationProfileType.HTTPS_WEB },
  }));
  const entry = new ClusterStaticEntry(stack.identities, 'Billing', { ...VALID, ...props, federatesWith: domains, server: stack.server });
  return { ...stack, entry, rendered: ApiObject.of(entry.node.findChild('Resource')).toJson() };
}

const errorsWith = (props: Partial<ClusterStaticEntryProps>, federatesWith: string[] = []) => synthErrors(withEntry(props, federatesWith).app);

describe('ClusterStaticEntry', () => {
  test('renders the entry with the server\'s class and only the fields that are set', () => {
    const { rendered, app } = withEntry();
    expect(synthErrors(app)).toEqual([]);
    expect(rendered).toEqual({
      apiVersion: 'spire.spiffe.io/v1alpha1',
      kind: 'ClusterStaticEntry',
      metadata: { name: 'identities-billing' },
      spec: { className: 'spire-server-spire', spiffeID: VALID.spiffeId, parentID: NODE_AGENT, selectors: ['unix:uid:1000'] },
    });
  });

  test('optional fields use the CRD\'s names; empty lists and false are left out', () => {
    const { rendered } = withEntry({
      x509SvidTtl: '2h', jwtSvidTtl: '5m', dnsNames: ['billing.example.org'],
      hint: 'billing', admin: true, downstream: false, storeSvid: true,
    }, ['partner.example']);
    expect(rendered.spec).toEqual(expect.objectContaining({
      federatesWith: ['partner.example'], x509SVIDTTL: '2h', jwtSVIDTTL: '5m', dnsNames: ['billing.example.org'], hint: 'billing', admin: true, storeSVID: true,
    }));
    expect(rendered.spec).not.toHaveProperty('downstream');
    expect(withEntry({ dnsNames: [] }).rendered.spec).not.toHaveProperty('federatesWith');
  });

  test.each([
    [{ spiffeId: 'spiffe://other.org/vm/billing' }, 'spiffeId "spiffe://other.org/vm/billing": the ID is not in the trust domain example.org'],
    [{ parentId: 'spiffe://other.org/spire/agent/x' }, 'parentId "spiffe://other.org/spire/agent/x": the ID is not in the trust domain example.org'],
    [{ spiffeId: 'spiffe://example.org' }, 'spiffeId "spiffe://example.org": a SPIFFE ID is spiffe://<trust domain>/<path>'],
    [{ spiffeId: 'spiffe://example.org/vm/../billing' }, 'spiffeId "spiffe://example.org/vm/../billing": a SPIFFE ID is spiffe://<trust domain>/<path>'],
    [{ parentId: 'example.org/agent' }, 'parentId "example.org/agent": a SPIFFE ID is'],
    [{ selectors: ['unix'] }, 'selectors "unix": a selector is "type:value"'],
    [{ selectors: [':uid:1000'] }, 'selectors ":uid:1000": a selector is "type:value"'],
    [{ selectors: [] }, 'selectors "[]": SPIRE refuses an entry without selectors'],
    [{ x509SvidTtl: '1d' }, 'x509SvidTtl "1d": a TTL is a positive Go duration'],
    [{ jwtSvidTtl: '0s' }, 'jwtSvidTtl "0s"'],
  ])('%j is rejected: %s', (props, message) => {
    expect(errorsWith(props)).toEqual([expect.stringContaining(`[identities/Billing] ${message}`)]);
  });

  test('federatesWith refuses the own trust domain', () => {
    expect(errorsWith({}, ['example.org'])).toContainEqual(expect.stringContaining('[identities/Billing] federatesWith "example.org": a workload does not federate with its own trust domain'));
  });

  test('an entry in the SPIRE server\'s chart is reported, as are CRDs missing from the app', () => {
    const stack = buildStack();
    new ClusterStaticEntry(stack.chart, 'Billing', { ...VALID, server: stack.server });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('spire/Billing is in the same chart as spire: the SPIRE controller manager registers ClusterStaticEntries')]);

    const { app, server } = buildStack();
    const early = new Chart(app, 'early');
    new ClusterStaticEntry(early, 'Billing', { ...VALID, server });
    expect(synthErrors(app)).toEqual(expect.arrayContaining([
      expect.stringContaining('early/Billing/Resource is in chart early, which does not come after crds: its CRD must be established first'),
      expect.stringContaining('early/Billing is in chart early, which does not come after spire'),
    ]));
  });
});
