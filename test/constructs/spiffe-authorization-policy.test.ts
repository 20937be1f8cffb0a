import { ApiObject } from 'cdk8s';
import { objectPodView } from '../../lib/mesh/spire-identity';
import { FederationProfileType, PartnerBundle } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { DemoWorkloads } from '../../lib/constructs/demo-workloads';
import { IstioIngressGateway } from '../../lib/constructs/istio-ingress-gateway';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpiffeAuthorizationPolicy, SpiffeAuthorizationPolicyProps } from '../../lib/constructs/spiffe-authorization-policy';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { StrictMtls } from '../../lib/constructs/strict-mtls';
import { Caller } from '../../lib/mesh/caller';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const IMAGE = 'registry.example/web:2.0.1';

function policyStack(overrides: StackOverrides = {}) {
  const stack = buildStack(overrides);
  const { apps, profile, identity } = stack;
  const ingress = MeshNamespace.create(apps, 'Ingress', { name: 'ingress' });
  // The tests that federate do so with the one identity every pod shares, the gateway's too.
  const gateway = new IstioIngressGateway(apps, 'Gateway', { profile, identity, namespace: ingress, name: 'edge', federated: true });
  const namespace = MeshNamespace.create(apps, 'Shop', { name: 'shop' });
  const web = new SpireEnabledWorkload(apps, 'Web', { profile, identity, namespace, name: 'web', image: IMAGE, port: 8080 });
  const client = new SpireEnabledWorkload(apps, 'Client', { profile, identity, namespace, name: 'client', image: IMAGE });
  const mtls = new StrictMtls(apps, 'Mtls', { profile, namespace });
  const policy = (props: Partial<SpiffeAuthorizationPolicyProps> = {}) =>
    new SpiffeAuthorizationPolicy(apps, 'Policy', { workload: web, allowFrom: [Caller.workload(client)], mtls, ...props });
  return { ...stack, ingress, gateway, namespace, web, client, mtls, policy };
}

/** The stack's mesh identity federating with partner.example through a ClusterFederatedTrustDomain that carries its bundle. */
function federateWithPartner(stack: ReturnType<typeof buildStack>): ClusterFederatedTrustDomain {
  const partner = new ClusterFederatedTrustDomain(stack.identities, 'Partner', {
    server: stack.server,
    bundle: PartnerBundle.fromSpiffeJson('{"keys":[]}'),
    partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
  });
  stack.identity.federateWith(partner);
  return partner;
}

const withoutScheme = (spiffeId: string) => spiffeId.replace(/^spiffe:\/\//, '');

describe('SpiffeAuthorizationPolicy', () => {
  test('an ALLOW policy on the workload\'s pods whose principals are the IDs its callers get, in Istio\'s form', () => {
    const { app, gateway, client, policy } = policyStack();
    const { authorizationPolicy } = policy({ allowFrom: [Caller.workload(client), Caller.ingressGateway(gateway)] });
    expect(synthErrors(app)).toEqual([]);
    expect(authorizationPolicy.toJson()).toEqual({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: ['example.org/ns/shop/sa/client', 'example.org/ns/ingress/sa/edge'] } }] }],
        selector: { matchLabels: { app: 'web' } },
      },
    });
    // The same IDs the ClusterSPIFFEID gives the callers' pods.
    expect(authorizationPolicy.toJson().spec.rules[0].from[0].source.principals).toEqual([client.spiffeId, gateway.spiffeId].map(withoutScheme));
  });

  test('the selector selects the workload\'s pods and no other pod of its namespace', () => {
    const { web, client, policy } = policyStack();
    const { matchLabels } = policy().authorizationPolicy.toJson().spec.selector;
    const selects = (labels: { [key: string]: string }) => Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
    expect(selects(objectPodView(web.deployment).labels)).toBe(true);
    expect(selects(objectPodView(client.deployment).labels)).toBe(false);
  });

  test('the principals carry the trust domain SPIRE signs for', () => {
    const { client, policy } = policyStack({ server: { trustDomain: 'corp.example' } });
    expect(policy().principals).toEqual(['corp.example/ns/shop/sa/client']);
    expect(client.spiffeId).toBe('spiffe://corp.example/ns/shop/sa/client');
  });

  test('a caller whose ClusterSPIFFEID issues another ID is rejected, naming the ID it gets', () => {
    const { app, apps, server, profile, namespace, policy } = policyStack();
    const batchIdentity = new ClusterSpiffeId(apps, 'BatchIdentity', {
      server,
      name: 'batch',
      istioIdentity: false,
      spiffeIdTemplate: 'spiffe://{{ .TrustDomain }}/batch/{{ .PodSpec.ServiceAccountName }}',
      podSelector: { matchLabels: { tier: 'batch' } },
    });
    const batch = new SpireEnabledWorkload(apps, 'Batch', { profile, identity: batchIdentity, namespace, name: 'batch', image: IMAGE });
    policy({ allowFrom: [Caller.workload(batch)] });
    expect(synthErrors(app)).toEqual([expect.stringContaining(
      '[apps/Policy] allowFrom "workload apps/Batch (spiffe://example.org/ns/shop/sa/batch)": no ClusterSPIFFEID of the app issues this ID to the pods of Deployment shop/batch: they get spiffe://example.org/batch/batch. Fix: select the pods with a ClusterSpiffeId',
    )]);
  });

  test('a service account caller stands for the SPIRE-enabled pods that run as it; one no such pod runs as is rejected', () => {
    const { app, namespace, policy } = policyStack();
    expect(policy({ allowFrom: [Caller.serviceAccount(namespace, 'client')] }).principals).toEqual(['example.org/ns/shop/sa/client']);
    expect(synthErrors(app)).toEqual([]);

    const other = policyStack();
    other.policy({ allowFrom: [Caller.serviceAccount(other.namespace, 'reports')] });
    expect(synthErrors(other.app)).toEqual([expect.stringContaining(
      '[apps/Policy] allowFrom "service account shop/reports (spiffe://example.org/ns/shop/sa/reports)": no SPIRE-enabled workload of the app runs as this service account',
    )]);
  });

  test('no callers, or one caller twice, is rejected', () => {
    const { app, policy } = policyStack();
    policy({ allowFrom: [] });
    expect(synthErrors(app)).toEqual([expect.stringContaining('allowFrom "[]": an ALLOW policy without callers denies every request')]);

    const other = policyStack();
    other.policy({ allowFrom: [Caller.workload(other.client), Caller.serviceAccount(other.namespace, 'client')] });
    expect(synthErrors(other.app)).toEqual([expect.stringContaining('allowFrom "service account shop/client (example.org/ns/shop/sa/client)": the ID is allowed twice')]);
  });

  // The client federates too and has no policy of its own, which the federation rule of its own tests covers.
  const unguardedClients = { profile: { requireFederatedAuthorization: false } };

  test('an ID of a federated trust domain is allowed as given, once the workload\'s ClusterSPIFFEID federates with it', () => {
    const stack = policyStack(unguardedClients);
    federateWithPartner(stack);
    expect(stack.policy({ allowFrom: [Caller.spiffeId('spiffe://partner.example/ns/shop/sa/client')] }).principals).toEqual(['partner.example/ns/shop/sa/client']);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('a caller of a federated trust domain is named through its ClusterFederatedTrustDomain', () => {
    const stack = policyStack(unguardedClients);
    const partner = federateWithPartner(stack);
    expect(stack.policy({ allowFrom: [Caller.federated(partner, 'shop', 'client')] }).principals).toEqual(['partner.example/ns/shop/sa/client']);
    expect(synthErrors(stack.app)).toEqual([]);

    const notFederating = policyStack();
    const unused = new ClusterFederatedTrustDomain(notFederating.identities, 'Partner', {
      server: notFederating.server,
      partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
    });
    notFederating.policy({ allowFrom: [Caller.federated(unused, 'shop', 'client')] });
    expect(synthErrors(notFederating.app)).toEqual([expect.stringContaining('does not federate with partner.example')]);
  });

  test('an ID of a trust domain the workload does not federate with, of its own trust domain, or malformed, is rejected', () => {
    const rejection = (spiffeId: string) => {
      const stack = policyStack(unguardedClients);
      federateWithPartner(stack);
      stack.policy({ allowFrom: [Caller.spiffeId(spiffeId)] });
      return synthErrors(stack.app);
    };
    expect(rejection('spiffe://other.example/ns/shop/sa/client')).toEqual([expect.stringContaining(
      'allowFrom "spiffe://other.example/ns/shop/sa/client": ClusterSPIFFEID istio-mesh-workloads of the called workload does not federate with other.example, so its proxy does not trust the caller\'s certificate. Fix: federate',
    )]);
    expect(rejection('spiffe://example.org/ns/shop/sa/client')).toEqual([expect.stringContaining('the ID is in the workload\'s own trust domain example.org')]);
    expect(rejection('partner.example/ns/shop/sa/client')).toEqual([expect.stringContaining('a SPIFFE ID is spiffe://<trust domain>/<path>')]);
    expect(rejection('spiffe://Partner.Example/ns/shop/sa/client')).toEqual([expect.stringContaining('a trust domain holds only lowercase letters')]);
    expect(rejection('spiffe://partner.example/ns//sa/client')).toEqual([expect.stringContaining('a SPIFFE ID is spiffe://<trust domain>/<path>')]);
  });

  test('strict mTLS of another namespace is rejected; mesh-wide strict mTLS covers the workload', () => {
    const { app, apps, profile, ingress, policy } = policyStack();
    policy({ mtls: new StrictMtls(apps, 'IngressMtls', { profile, namespace: ingress }) });
    expect(synthErrors(app)).toEqual([expect.stringContaining(
      '[apps/Policy] mtls "apps/IngressMtls (namespace ingress)": it does not cover the workload\'s namespace shop: without STRICT mTLS plaintext callers, which carry no SPIFFE ID, reach the sidecar and only this policy refuses them',
    )]);

    const other = policyStack();
    other.policy({ mtls: new StrictMtls(other.apps, 'MeshMtls', { profile: other.profile, name: 'mesh-strict' }) });
    expect(synthErrors(other.app)).toEqual([]);
  });
});

describe('DemoWorkloads', () => {
  test('httpbin lets in sleep, the gateway and the callers given, by the IDs they get', () => {
    const stack = buildStack();
    const partner = federateWithPartner(stack);
    const { app, apps, profile, server } = stack;
    const workloadIdentity = new ClusterSpiffeId(stack.identities, 'Federated', {
      server, name: 'federated', podSelector: { matchLabels: { [ClusterSpiffeId.MANAGED_IDENTITY_LABEL]: 'federated' } }, federatesWith: [partner],
    });
    const identity = new ClusterSpiffeId(stack.identities, 'Mesh', { server, name: 'mesh', podSelector: { matchLabels: { mesh: 'true' } } });
    const demo = new DemoWorkloads(apps, 'Demo', { profile, identity, workloadIdentity, httpbinCallers: [Caller.spiffeId('spiffe://partner.example/ns/demo/sa/sleep')] });
    expect(demo.httpbinPolicy.principals).toEqual([
      withoutScheme(demo.sleep.spiffeId), withoutScheme(demo.gateway.spiffeId), 'partner.example/ns/demo/sa/sleep',
    ]);
    expect(demo.mtls.covers(demo.httpbin.namespace)).toBe(true);
    expect(synthErrors(app)).toEqual([]);
    // sleep federates but only calls out, so it takes nothing in; the gateway keeps the mesh identity.
    const sleepPolicy = ApiObject.of(demo.node.findChild('SleepPolicy').node.findChild('Resource')).toJson();
    expect(sleepPolicy.spec).toEqual({ action: 'ALLOW', selector: { matchLabels: { app: 'sleep' } } });
    expect(demo.gateway.identity).toBe(identity);
  });
});

describe('federated workloads are closed by default', () => {
  /** A stack whose `web` and `client` take an identity that federates with partner.example. */
  function federatedStack(overrides: StackOverrides = {}) {
    const stack = policyStack(overrides);
    const partner = new ClusterFederatedTrustDomain(stack.identities, 'Partner', {
      server: stack.server,
      bundle: PartnerBundle.fromSpiffeJson('{"keys":[]}'),
      partner: { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB },
    });
    const federated = new ClusterSpiffeId(stack.identities, 'Federated', {
      server: stack.server, name: 'federated', podSelector: { matchLabels: { [ClusterSpiffeId.MANAGED_IDENTITY_LABEL]: 'federated' } }, federatesWith: [partner],
    });
    const web = new SpireEnabledWorkload(stack.apps, 'FederatedWeb', { profile: stack.profile, identity: federated, namespace: stack.namespace, name: 'fweb', image: IMAGE, port: 8080 });
    return { ...stack, partner, federated, web };
  }

  test('a workload whose identity federates needs an ALLOW policy: istiod accepts the partner mesh-wide', () => {
    const { app } = federatedStack();
    expect(synthErrors(app)).toEqual([expect.stringContaining('[apps/FederatedWeb/Deployment] identity "federated federates with partner.example": istiod accepts peers of partner.example mesh-wide (meshConfig.caCertificates) and this pod\'s proxy holds their bundles, so without an ALLOW policy every workload of partner.example gets in. Fix: guard the workload with a SpiffeAuthorizationPolicy')]);
  });

  test('a policy that names the callers, or one that denies everything, closes it; so does turning the rule off', () => {
    const guarded = federatedStack();
    new SpiffeAuthorizationPolicy(guarded.apps, 'FederatedPolicy', { workload: guarded.web, allowFrom: [Caller.federated(guarded.partner, 'shop', 'client')], mtls: guarded.mtls });
    expect(synthErrors(guarded.app)).toEqual([]);
    const denied = federatedStack();
    const policy = new SpiffeAuthorizationPolicy(denied.apps, 'FederatedPolicy', { workload: denied.web, allowFrom: [], denyAll: true, mtls: denied.mtls });
    expect(synthErrors(denied.app)).toEqual([]);
    expect(policy.authorizationPolicy.toJson().spec).not.toHaveProperty('rules');
    expect(synthErrors(federatedStack({ profile: { requireFederatedAuthorization: false } }).app)).toEqual([]);
  });

  test('denyAll lets no caller in', () => {
    const stack = federatedStack();
    new SpiffeAuthorizationPolicy(stack.apps, 'FederatedPolicy', { workload: stack.web, allowFrom: [Caller.workload(stack.client)], denyAll: true, mtls: stack.mtls });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('allowFrom "workload apps/Client": a policy that denies every request lets no caller in')]);
  });

  test('a gateway takes partner bundles only when asked', () => {
    const stack = federatedStack({ profile: { requireFederatedAuthorization: false } });
    const namespace = MeshNamespace.create(stack.apps, 'Edge', { name: 'edge' });
    new IstioIngressGateway(stack.apps, 'Unasked', { profile: stack.profile, identity: stack.federated, namespace, name: 'unasked' });
    new IstioIngressGateway(stack.apps, 'Asked', { profile: stack.profile, identity: stack.federated, namespace, name: 'asked', federated: true });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('[apps/Unasked] identity "federated federates with partner.example": the gateway would hold the partners\' bundles and take mTLS from any of their workloads, which it was not asked to. Fix: give the gateway an identity that does not federate (the mesh identity), or set federated: true.')]);
  });
});
