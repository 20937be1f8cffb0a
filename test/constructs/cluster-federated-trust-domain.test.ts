import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GitOpsOrdering } from '../../lib/charts/gitops-ordering';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import {
  BundleEndpointOptions, FederationPartner, FederationProfileType, PartnerBundle,
} from '../../lib/config/federation-config';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { ClusterStaticEntry } from '../../lib/constructs/cluster-static-entry';
import { ClusterFederatedTrustDomain, ClusterFederatedTrustDomainOptions } from '../../lib/constructs/cluster-federated-trust-domain';
import { ServiceType } from '../../lib/kube/service-type';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const ENDPOINT: BundleEndpointOptions = { url: 'https://spire-bundle.example.org:8443', serviceType: ServiceType.LOAD_BALANCER };
const BUNDLE = JSON.stringify({ keys: [] });
const WEB_PARTNER: FederationPartner = { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB };

/** A stack whose server federates with a partner through a ClusterFederatedTrustDomain in the identities stage. */
function federated(partner: FederationPartner = WEB_PARTNER, options: ClusterFederatedTrustDomainOptions = {}, overrides: StackOverrides = {}) {
  const stack = buildStack(overrides);
  const domain = new ClusterFederatedTrustDomain(stack.identities, 'Partner', { ...options, server: stack.server, partner });
  return { ...stack, domain, rendered: ApiObject.of(domain.node.findChild('Resource')).toJson() };
}

const PARTNER_ENDPOINT: BundleEndpointOptions = { ...ENDPOINT, url: 'https://spire-bundle.partner.example:8443' };

function partnerServer(bundleEndpoint?: BundleEndpointOptions) {
  return buildStack({ server: { trustDomain: 'partner.example', bundleEndpoint } }).server;
}

describe('ClusterFederatedTrustDomain', () => {
  test('takes every value of a partner server from that server', () => {
    const { rendered, app, domain } = federated(partnerServer(PARTNER_ENDPOINT).federationPartner, { name: 'partner' });
    expect(synthErrors(app)).toEqual([]);
    expect(domain.trustDomain).toBe('partner.example');
    expect(rendered).toEqual({
      apiVersion: 'spire.spiffe.io/v1alpha1',
      kind: 'ClusterFederatedTrustDomain',
      metadata: { name: 'partner' },
      spec: {
        className: 'spire-server-spire',
        trustDomain: 'partner.example',
        bundleEndpointURL: 'https://spire-bundle.partner.example:8443',
        bundleEndpointProfile: { type: 'https_spiffe', endpointSPIFFEID: 'spiffe://partner.example/spire/server' },
      },
    });
  });

  test('a web partner has no endpoint SPIFFE ID; a bundle is carried in trustDomainBundle', () => {
    const { rendered, app } = federated(WEB_PARTNER, { bundle: PartnerBundle.fromSpiffeJson(BUNDLE) });
    expect(synthErrors(app)).toEqual([]);
    expect(rendered.spec.bundleEndpointProfile).toEqual({ type: 'https_web' });
    expect(rendered.spec.trustDomainBundle).toBe(BUNDLE);
  });

  test('the bundle comes from a file, a ConfigMap of the app, or the partner server of the same app', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-')), 'partner.json');
    fs.writeFileSync(file, BUNDLE);
    expect(federated(WEB_PARTNER, { bundle: PartnerBundle.fromFile(file) }).rendered.spec.trustDomainBundle).toBe(BUNDLE);

    const stack = buildStack();
    const configMap = new kplus.ConfigMap(stack.apps, 'PartnerBundle', { metadata: { name: 'partner-bundle' }, data: { 'bundle.spiffe': BUNDLE } });
    const fromConfigMap = new ClusterFederatedTrustDomain(stack.identities, 'Partner', { server: stack.server, partner: WEB_PARTNER, bundle: PartnerBundle.fromConfigMap(configMap, 'bundle.spiffe') });
    expect(ApiObject.of(fromConfigMap.node.findChild('Resource')).toJson().spec.trustDomainBundle).toBe(BUNDLE);

    const partnerWithBundle = partnerServer({ ...PARTNER_ENDPOINT, bundle: PartnerBundle.fromSpiffeJson(BUNDLE) });
    const { rendered, domain } = federated(partnerWithBundle.federationPartner);
    expect(rendered.spec.trustDomainBundle).toBe(BUNDLE);
    expect(domain.bundle).toBe(partnerWithBundle.federationPartner.bundle);
  });

  test.each([
    [() => PartnerBundle.fromFile('/nonexistent/partner.json'), 'bundle "/nonexistent/partner.json": the bundle file does not exist. Fix: save the partner\'s bundle there: spire-server bundle show -format spiffe > /nonexistent/partner.json'],
    [() => PartnerBundle.fromSpiffeJson('-----BEGIN CERTIFICATE-----'), 'bundle "-----BEGIN CERTIFICATE-----": the controller manager reads the bundle in SPIFFE bundle format'],
  ])('an unusable bundle is reported: %s', (bundle, message) => {
    expect(synthErrors(federated(WEB_PARTNER, { bundle: bundle() }).app)).toEqual([expect.stringContaining(`[identities/Partner] ${message}`)]);
  });

  test('a ConfigMap without the key is reported', () => {
    const stack = buildStack();
    const configMap = new kplus.ConfigMap(stack.apps, 'PartnerBundle', { metadata: { name: 'partner-bundle' }, data: { other: BUNDLE } });
    new ClusterFederatedTrustDomain(stack.identities, 'Partner', { server: stack.server, partner: WEB_PARTNER, bundle: PartnerBundle.fromConfigMap(configMap, 'bundle.spiffe') });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('[identities/Partner] bundle "ConfigMap partner-bundle key bundle.spiffe": it is no ConfigMap with this key in data')]);
  });

  test('a server without bundle endpoint cannot be a partner', () => {
    expect(() => partnerServer().federationPartner).toThrow('spire/Server: the server serves no bundle endpoint, so no other trust domain can federate with it. Fix: set `bundleEndpoint`');
  });

  test.each([
    [{ ...WEB_PARTNER, trustDomain: 'example.org' }, {}, 'partner.trustDomain "example.org": a workload does not federate with its own trust domain'],
    [{ ...WEB_PARTNER, trustDomain: 'Partner.Example' }, {}, 'partner.trustDomain "Partner.Example": a trust domain holds only lowercase'],
    [{ ...WEB_PARTNER, bundleEndpointUrl: 'http://bundle.partner.example' }, {}, 'partner.bundleEndpointUrl "http://bundle.partner.example": SPIRE fetches bundles over HTTPS only'],
    [{ ...WEB_PARTNER, bundleEndpointUrl: 'https://joe:secret@bundle.partner.example' }, {}, 'partner.bundleEndpointUrl "https://joe:secret@bundle.partner.example": a bundle endpoint URL carries no user name or password'],
    [{ ...WEB_PARTNER, bundleEndpointUrl: 'bundle.partner.example' }, {}, 'partner.bundleEndpointUrl "bundle.partner.example": a bundle endpoint URL is an absolute URL'],
    [{ ...WEB_PARTNER, endpointSpiffeId: 'spiffe://partner.example/spire/server' }, {}, 'partner.endpointSpiffeId "spiffe://partner.example/spire/server": the https_web profile authenticates the endpoint by its Web PKI certificate'],
    [{ ...WEB_PARTNER, profile: FederationProfileType.HTTPS_SPIFFE }, {}, 'partner.endpointSpiffeId "": the https_spiffe profile authenticates the endpoint by its SPIFFE ID, which is missing'],
    [{ ...WEB_PARTNER, profile: FederationProfileType.HTTPS_SPIFFE, endpointSpiffeId: 'spiffe://other.example/spire/server' }, {}, 'partner.endpointSpiffeId "spiffe://other.example/spire/server": the ID is not in the trust domain partner.example, the partner\'s: this library federates only with endpoints that present the partner server\'s own ID'],
    [WEB_PARTNER, { name: 'Partner' }, 'name "Partner"'],
  ])('%j %j is rejected: %s', (partner, options, message) => {
    expect(synthErrors(federated(partner, options).app)).toContainEqual(expect.stringContaining(`[identities/Partner] ${message}`));
  });

  test('a partner trust domain is declared once per server', () => {
    const stack = federated();
    new ClusterFederatedTrustDomain(stack.identities, 'Again', { server: stack.server, partner: WEB_PARTNER });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('[identities/Again] partner.trustDomain "partner.example": identities/Partner declares this trust domain for the same server already')]);
  });

  test('in the SPIRE chart it is reported: the controller manager\'s webhook admits it', () => {
    const stack = buildStack();
    new ClusterFederatedTrustDomain(stack.chart, 'Partner', { server: stack.server, partner: WEB_PARTNER });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('spire/Partner is in the same chart as spire')]);
  });
});

describe('no identity federates before the server holds the partner\'s bundle', () => {
  const LATER = 'federated-identities';
  /** A stack whose mesh identity federates with the partner, in `where` (the identities chart or a later one). */
  function federating(bundle: PartnerBundle | undefined, where: 'same' | 'later' | 'earlier') {
    const stack = buildStack();
    const later = new Chart(stack.app, LATER, { disableResourceNameHashes: true });
    later.addDependency(stack.identities);
    const domainChart = where === 'earlier' ? later : stack.identities;
    const identityChart = where === 'later' ? later : stack.identities;
    const domain = new ClusterFederatedTrustDomain(domainChart, 'Partner', { server: stack.server, partner: WEB_PARTNER, bundle });
    new ClusterSpiffeId(identityChart, 'Federated', { server: stack.server, name: 'federated', podSelector: { matchLabels: { federated: 'true' } }, federatesWith: [domain] });
    return synthErrors(stack.app);
  }

  test('without a bundle in the output the identity is refused in the same stage, and accepted in a later one', () => {
    expect(federating(undefined, 'same')).toEqual([expect.stringContaining(
      'identities/Federated is in the same chart as identities: it federates with partner.example, but no bundle of partner.example is in the output, so the server does not hold it when this is applied and SPIRE refuses its entries ("unable to find federated bundle"): none of its pods gets an SVID. Fix: give identities/Partner the partner\'s bundle (bundle: PartnerBundle.fromFile, fromConfigMap or fromSpiffeJson',
    )]);
    expect(federating(undefined, 'later')).toEqual([]);
  });

  test('with the bundle in the output the same stage is fine, a declaration applied after the identity is not', () => {
    const bundle = PartnerBundle.fromSpiffeJson(BUNDLE);
    expect(federating(bundle, 'same')).toEqual([]);
    expect(federating(bundle, 'earlier')).toEqual([expect.stringContaining(
      `identities/Federated is in chart identities, which does not come after ${LATER}: it federates with partner.example, whose bundle comes with ${LATER}/Partner, which is applied later. Fix: apply ${LATER} first`,
    )]);
  });

  test('a ClusterStaticEntry that federates follows the same rule', () => {
    const stack = buildStack();
    const domain = new ClusterFederatedTrustDomain(stack.identities, 'Partner', { server: stack.server, partner: WEB_PARTNER });
    new ClusterStaticEntry(stack.identities, 'Vm', { server: stack.server, spiffeId: 'spiffe://example.org/vm', parentId: 'spiffe://example.org/node', selectors: ['unix:uid:0'], federatesWith: [domain] });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('identities/Vm is in the same chart as identities: it federates with partner.example, but no bundle of partner.example is in the output')]);
  });
});

describe('federation wiring of agent and Istio', () => {
  test('without a federated trust domain, agent and Istio are as before', () => {
    const { agent, profile } = buildStack();
    expect(agent.agentConfig.agent).not.toHaveProperty('sds');
    expect(profile.helmValues.meshConfig).not.toHaveProperty('caCertificates');
  });

  test('the agent serves all bundles under ROOTCA, the name Istio\'s proxies ask for', () => {
    const { agent } = federated();
    expect(agent.agentConfig.agent.sds).toEqual({ default_bundle_name: 'null', default_all_bundles_name: 'ROOTCA' });
  });

  test('Istio accepts peers of each federated trust domain, in the IstioOperator and the Helm values', () => {
    const { profile, domain } = federated();
    const expected = [{ trustDomains: [domain.trustDomain] }];
    expect(profile.helmValues.meshConfig.caCertificates).toEqual(expected);
    const operator = ApiObject.of(profile.node.findChild('IstioOperator')).toJson();
    expect(operator.spec.meshConfig.caCertificates).toEqual(expected);
  });

  test('a caCertificates list of the user\'s would drop the federated trust domains and is refused', () => {
    const { app } = federated(WEB_PARTNER, {}, { profile: { meshConfig: { caCertificates: [{ pem: 'x' }] } } });
    expect(synthErrors(app)).toEqual([expect.stringContaining('meshConfig.caCertificates "[{\\"pem\\":\\"x\\"}]": the profile lists the federated trust domains partner.example here')]);
  });
});

describe('SpireIstioMesh federation', () => {
  function meshes(gitOpsOrdering?: GitOpsOrdering) {
    // One mesh per app: each cluster is an app of its own.
    const eastApp = Testing.app();
    const east = new SpireIstioMesh(eastApp, 'Mesh', { trustDomain: 'east.example', clusterName: 'east', gitOpsOrdering, server: { bundleEndpoint: { ...ENDPOINT, url: 'https://bundle.east.example' } } });
    const westApp = Testing.app();
    const west = new SpireIstioMesh(westApp, 'Mesh', { trustDomain: 'west.example', clusterName: 'west', server: { bundleEndpoint: { ...ENDPOINT, url: 'https://bundle.west.example', bundle: PartnerBundle.fromSpiffeJson(BUNDLE) } } });
    return { westApp, east, west };
  }

  test('federateWith declares the partner in the identities chart and federates no identity', () => {
    const { east, west } = meshes();
    const domain = east.federateWith('West', west.server.federationPartner);
    expect(domain.node.scope?.node.path).toBe(east.identities.node.path);
    expect(east.meshIdentity.federatesWith).toEqual([]);
    expect(ClusterFederatedTrustDomain.of(east.server)).toEqual([domain]);
    expect(ClusterFederatedTrustDomain.of(west.server)).toEqual([]);
  });

  test('a federated identity selects its own label value, so no pod has the mesh identity too', () => {
    const { east, west } = meshes();
    const identity = east.addFederatedIdentity('Payments', [east.federateWith('West', west.server.federationPartner)]);
    expect(identity.name).toBe('payments');
    expect(identity.podLabels).toEqual({ [ClusterSpiffeId.MANAGED_IDENTITY_LABEL]: 'payments' });
    expect(east.meshIdentity.selects(identity.podLabels, {})).toBe(false);
  });

  test('with the partner\'s bundle in the output the federated identity joins the identities stage', () => {
    const { east, west } = meshes();
    const identity = east.addFederatedIdentity('Payments', [east.federateWith('West', west.server.federationPartner)]);
    expect(identity.node.scope?.node.path).toBe(east.identities.node.path);
    expect(east.federatedIdentities === undefined).toBe(true);
  });

  test('without it, the identity gets a stage of its own between the identities and Istio', () => {
    const { westApp, east, west } = meshes();
    const identity = west.addFederatedIdentity('Payments', [west.federateWith('East', east.server.federationPartner)]);
    expect(identity.node.scope?.node.path).toBe('federated-identities');
    // The order the app writes the numbered files in.
    const order = westApp.charts.map((chart) => chart.node.id);
    expect(order).toEqual(['crds', 'spire', 'identities', 'federated-identities', 'istio-profile', 'workloads']);
  });

  test('Argo CD sync waves leave no room for the hand step, so a partner without bundle is refused', () => {
    const { east, west } = meshes(GitOpsOrdering.ARGO_CD_SYNC_WAVES);
    expect(() => east.addFederatedIdentity('Payments', [east.federateWith('West', { ...west.server.federationPartner, bundle: undefined })]))
      .toThrow('Payments: Argo CD applies every sync wave in one sync, so no hand step fits between the federation declaration and an identity that federates with a partner whose bundle is not in the output. Fix: give the ClusterFederatedTrustDomain the partner\'s bundle');
  });

  test('a federated identity without partners is refused', () => {
    expect(() => meshes().east.addFederatedIdentity('Payments', [])).toThrow('Payments: a federated identity federates with at least one trust domain');
  });
});
