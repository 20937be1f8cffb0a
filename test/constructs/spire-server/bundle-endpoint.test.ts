import { Testing } from 'cdk8s';
import { BundleEndpointOptions, BundleEndpointProfile, FederationProfileType } from '../../../lib/config/federation-config';
import { KeyManager } from '../../../lib/config/key-manager';
import { Metrics } from '../../../lib/config/metrics';
import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
import { SpireServerProps } from '../../../lib/constructs/spire-server';
import { ServiceType } from '../../../lib/kube/service-type';
import { buildStack, synthErrors } from '../../support/stack';

const ENDPOINT: BundleEndpointOptions = { url: 'https://spire-bundle.example.org:8443', serviceType: ServiceType.LOAD_BALANCER };

describe('SpireServer bundle endpoint', () => {
  const withEndpoint = (bundleEndpoint: Partial<BundleEndpointOptions>) => buildStack({ server: { bundleEndpoint: { ...ENDPOINT, ...bundleEndpoint } } });
  // ACME validates on port 443 of the domain, so the Service serves the endpoint there.
  const ACME_ENDPOINT = { url: 'https://spire-bundle.example.org', servicePort: 443 };
  const ACME_PROFILE = BundleEndpointProfile.httpsWebAcme({ domainName: 'spire-bundle.example.org', email: 'ops@example.org', tosAccepted: true });

  test('serves https_spiffe on 8443 behind a Service of the chosen type', () => {
    const { server, chart } = withEndpoint({ serviceType: ServiceType.NODE_PORT });
    expect(server.serverConfig.server.federation).toEqual({ bundle_endpoint: { address: '0.0.0.0', port: 8443, profile: { https_spiffe: {} } } });
    const manifests = Testing.synth(chart);
    const service = manifests.find((doc) => doc.kind === 'Service' && doc.metadata.name === 'spire-server-bundle-endpoint');
    expect(service.spec).toEqual(expect.objectContaining({ type: 'NodePort', ports: [{ name: 'federation', port: 8443, targetPort: 8443, protocol: 'TCP' }] }));
    const pod = manifests.find((doc) => doc.kind === 'StatefulSet').spec.template.spec;
    expect(pod.containers[0].ports).toContainEqual({ containerPort: 8443, name: 'federation' });
  });

  test('listens on the address given', () => {
    expect(withEndpoint({ address: '::' }).server.serverConfig.server.federation.bundle_endpoint.address).toBe('::');
  });

  test('no endpoint by default', () => {
    const { server, chart } = buildStack();
    expect(server.serverConfig.server).not.toHaveProperty('federation');
    expect(Testing.synth(chart).filter((doc) => doc.kind === 'Service').map((doc) => doc.metadata.name)).not.toContain('spire-server-bundle-endpoint');
  });

  test('https_web with ACME or a certificate Secret, mounted read-only', () => {
    const acme = withEndpoint({ ...ACME_ENDPOINT, profile: ACME_PROFILE });
    expect(synthErrors(acme.app)).toEqual([]);
    expect(acme.server.serverConfig.server.federation.bundle_endpoint.profile).toEqual({
      https_web: { acme: { directory_url: 'https://acme-v02.api.letsencrypt.org/directory', domain_name: 'spire-bundle.example.org', email: 'ops@example.org', tos_accepted: true } },
    });
    // The Service answers on 443; the non-root server keeps listening on its unprivileged port.
    const acmeService = Testing.synth(acme.chart).find((doc) => doc.kind === 'Service' && doc.metadata.name === 'spire-server-bundle-endpoint');
    expect(acmeService.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: 8443 })]);
    expect(acme.server.serverConfig.server.federation.bundle_endpoint.port).toBe(8443);
    const cert = withEndpoint({ profile: BundleEndpointProfile.httpsWebServingCert({ secretName: 'bundle-tls' }) });
    expect(cert.server.serverConfig.server.federation.bundle_endpoint.profile).toEqual({
      https_web: { serving_cert_file: { cert_file_path: '/run/spire/bundle-endpoint-tls/tls.crt', key_file_path: '/run/spire/bundle-endpoint-tls/tls.key', file_sync_interval: '1h' } },
    });
    const pod = Testing.synth(cert.chart).find((doc) => doc.kind === 'StatefulSet').spec.template.spec;
    const volume = pod.volumes.find((candidate: any) => candidate.secret?.secretName === 'bundle-tls');
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: volume.name, mountPath: '/run/spire/bundle-endpoint-tls', readOnly: true });
    expect(cert.server.federationPartner).toEqual({ trustDomain: 'example.org', bundleEndpointUrl: ENDPOINT.url, profile: FederationProfileType.HTTPS_WEB, endpointSpiffeId: undefined });
  });

  describe('behind a Gateway API TLSRoute', () => {
    const GATEWAY = { name: 'federation', namespace: 'gateways', sectionName: 'spire-passthrough' };
    const routeOf = (bundleEndpoint: Partial<BundleEndpointOptions>) =>
      Testing.synth(withEndpoint({ serviceType: ServiceType.CLUSTER_IP, ...bundleEndpoint }).chart).find((doc) => doc.kind === 'TLSRoute');

    test('routes the URL\'s host from the Gateway to the endpoint Service\'s port, TLS passed through', () => {
      const { chart } = withEndpoint({ serviceType: ServiceType.CLUSTER_IP, servicePort: 9443, tlsRoute: { parentRefs: [GATEWAY] } });
      const manifests = Testing.synth(chart);
      const service = manifests.find((doc) => doc.kind === 'Service' && doc.metadata.name === 'spire-server-bundle-endpoint');
      const route = manifests.find((doc) => doc.kind === 'TLSRoute');
      expect(route).toEqual({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'TLSRoute',
        metadata: { name: service.metadata.name, namespace: service.metadata.namespace },
        spec: {
          parentRefs: [GATEWAY],
          hostnames: ['spire-bundle.example.org'],
          rules: [{ backendRefs: [{ name: service.metadata.name, port: service.spec.ports[0].port }] }],
        },
      });
    });

    test('takes hostnames that cover the URL\'s host, a wildcard too, with ACME as with SPIFFE', () => {
      expect(routeOf({ tlsRoute: { parentRefs: [{ name: 'federation' }], hostnames: ['*.example.org'] } }).spec.hostnames).toEqual(['*.example.org']);
      const acme = withEndpoint({ ...ACME_ENDPOINT, profile: ACME_PROFILE, tlsRoute: { parentRefs: [{ name: 'federation' }] } });
      expect(synthErrors(acme.app)).toEqual([]);
      expect(routeOf({ tlsRoute: { parentRefs: [{ name: 'federation' }] } }).spec.parentRefs).toEqual([{ name: 'federation' }]);
    });

    test('no route unless asked for', () => {
      expect(routeOf({})).toBeUndefined();
    });

    test.each([
      [{ url: 'https://203.0.113.7:8443', tlsRoute: { parentRefs: [GATEWAY] } }, 'bundleEndpoint.tlsRoute.hostnames "https://203.0.113.7:8443": a TLSRoute routes by the TLS server name'],
      [{ tlsRoute: { parentRefs: [GATEWAY], hostnames: ['bundle.example.org'] } }, 'bundleEndpoint.tlsRoute.hostnames "bundle.example.org": partners dial spire-bundle.example.org'],
      [{ tlsRoute: { parentRefs: [GATEWAY], hostnames: ['*.other.example'] } }, 'bundleEndpoint.tlsRoute.hostnames "*.other.example": partners dial spire-bundle.example.org'],
      [{ tlsRoute: { parentRefs: [GATEWAY], hostnames: ['*', 'spire-bundle.example.org'] } }, 'bundleEndpoint.tlsRoute.hostnames "*": a Gateway API hostname is a DNS name'],
      [{ tlsRoute: { parentRefs: [] } }, 'bundleEndpoint.tlsRoute.parentRefs "none": a route attaches to a Gateway'],
      [{ tlsRoute: { parentRefs: [{ name: 'Federation' }] } }, 'bundleEndpoint.tlsRoute.parentRefs "Federation"'],
      [{ tlsRoute: { parentRefs: [{ name: 'federation', namespace: 'gate.ways' }] } }, 'bundleEndpoint.tlsRoute.parentRefs "gate.ways"'],
    ])('%j is rejected: %s', (bundleEndpoint, message) => {
      expect(synthErrors(withEndpoint(bundleEndpoint as Partial<BundleEndpointOptions>).app)).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
    });
  });

  describe('ACME keeps its order and certificate on one replica\'s volume', () => {
    const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
    const acmeServer = (server: Partial<SpireServerProps>) => buildStack({ server: { ...server, bundleEndpoint: { ...ENDPOINT, ...ACME_ENDPOINT, profile: ACME_PROFILE } } });

    test('one replica with the data_dir on its volume is fine, with sqlite or an external datastore', () => {
      expect(synthErrors(acmeServer({}).app)).toEqual([]);
      expect(synthErrors(acmeServer({ datastore: postgres, keyManager: KeyManager.disk() }).app)).toEqual([]);
    });

    test('more than one replica is refused, naming the serving-certificate route', () => {
      const errors = synthErrors(acmeServer({ replicas: 3, datastore: postgres, keyManager: KeyManager.disk() }).app);
      expect(errors).toEqual([expect.stringContaining('[spire/Server] bundleEndpoint.profile "ACME with 3 replicas": each replica runs its own ACME order and answers the TLS-ALPN-01 challenge from its own memory')]);
      expect(errors[0]).toContain('Fix: serve with `BundleEndpointProfile.httpsWebServingCert({ secretName })`, a kubernetes.io/tls Secret that cert-manager');
    });

    test('a data_dir on an emptyDir is refused: every restart would order again', () => {
      const errors = synthErrors(acmeServer({ datastore: postgres, keyManager: KeyManager.memory() }).app);
      expect(errors).toEqual([expect.stringContaining('[spire/Server] bundleEndpoint.profile "ACME without a data volume": with an external datastore and KeyManager.memory() the data_dir is an emptyDir')]);
      expect(errors[0]).toContain('httpsWebServingCert');
    });
  });

  describe('refresh hint', () => {
    const hintOf = (bundleEndpoint: Partial<BundleEndpointOptions>, server: Partial<SpireServerProps> = {}) => {
      const stack = buildStack({ server: { ...server, bundleEndpoint: { ...ENDPOINT, ...bundleEndpoint } } });
      return { errors: synthErrors(stack.app), rendered: stack.server.serverConfig.server.federation.bundle_endpoint.refresh_hint };
    };

    test('SPIRE\'s own unless set, then written as given', () => {
      expect(hintOf({})).toEqual({ errors: [], rendered: undefined });
      expect(hintOf({ refreshHint: '10m' })).toEqual({ errors: [], rendered: '10m' });
    });

    test('up to half the time a new CA\'s key is in the bundle before it signs: 4h of the default caTtl\'s 8h', () => {
      expect(hintOf({ refreshHint: '4h' }).errors).toEqual([]);
      expect(hintOf({ refreshHint: '4h1m' }).errors).toEqual([expect.stringContaining(
        '[spire/Server] bundleEndpoint.refreshHint "4h1m": with caTtl 24h a new CA\'s key is in the bundle 8h before the CA signs with it',
      )]);
      expect(hintOf({ refreshHint: '4h1m' }).errors[0]).toContain('Fix: use at most 4h, e.g. leave it unset for SPIRE\'s 5m, or lengthen caTtl');
    });

    test('the limit follows caTtl, with SPIRE\'s caps of 30 and 7 days', () => {
      expect(hintOf({ refreshHint: '2h' }, { caTtl: '12h' }).errors).toEqual([]);
      expect(hintOf({ refreshHint: '2h1m' }, { caTtl: '12h' }).errors).toEqual([expect.stringContaining('with caTtl 12h a new CA\'s key is in the bundle 4h before')]);
      // 2160h (90 days): prepared 30 days, active 7 days before the CA expires, so 23 days ahead.
      expect(hintOf({ refreshHint: '276h' }, { caTtl: '2160h' }).errors).toEqual([]);
      expect(hintOf({ refreshHint: '277h' }, { caTtl: '2160h' }).errors).toEqual([expect.stringContaining('a new CA\'s key is in the bundle 552h before')]);
    });

    test.each([
      ['30s', 'SPIRE partners fetch a bundle at most once a minute'],
      ['1d', 'a TTL is a positive Go duration'],
    ])('%s is refused: %s', (refreshHint, rule) => {
      expect(hintOf({ refreshHint }).errors).toEqual([expect.stringContaining(`[spire/Server] bundleEndpoint.refreshHint "${refreshHint}": ${rule}`)]);
    });
  });

  test('port 8082 is free for the bundle endpoint when the controller manager serves no metrics', () => {
    const { app } = buildStack({ server: { metrics: Metrics.disabled(), bundleEndpoint: { ...ENDPOINT, port: 8082 } } });
    expect(synthErrors(app)).toEqual([]);
  });

  test.each([
    [{ url: 'http://spire-bundle.example.org' }, 'bundleEndpoint.url "http://spire-bundle.example.org": SPIRE fetches bundles over HTTPS only'],
    [{ port: 8081 }, 'bundleEndpoint.port "8081": the server already listens on this port'],
    [{ port: 9443 }, 'bundleEndpoint.port "9443": the spire-controller-manager container in the same pod already listens on this port'],
    [{ port: 8083 }, 'bundleEndpoint.port "8083": the spire-controller-manager container in the same pod already listens on this port'],
    [{ port: 8082 }, 'bundleEndpoint.port "8082": the spire-controller-manager container in the same pod already listens on this port'],
    [{ address: 'localhost' }, 'bundleEndpoint.address "localhost": SPIRE listens for the bundle endpoint on an IP address'],
    [{ port: 70000 }, 'bundleEndpoint.port "70000": a port is a whole number'],
    [{ ...ACME_ENDPOINT, profile: BundleEndpointProfile.httpsWebAcme({ domainName: 'other.example.org', email: 'ops@example.org', tosAccepted: true }) }, 'bundleEndpoint.profile "other.example.org": the ACME certificate is issued for this name, but partners dial spire-bundle.example.org'],
    [{ ...ACME_ENDPOINT, profile: BundleEndpointProfile.httpsWebAcme({ domainName: 'spire-bundle.example.org', email: 'ops@example.org', tosAccepted: false }) }, 'bundleEndpoint.profile "tosAccepted: false"'],
    [{ profile: ACME_PROFILE }, 'bundleEndpoint.profile "servicePort 8443, URL port 8443": the ACME CA proves the domain with the TLS-ALPN-01 challenge on port 443'],
    [{ ...ACME_ENDPOINT, servicePort: 8443, profile: ACME_PROFILE }, 'bundleEndpoint.profile "servicePort 8443, URL port 443": the ACME CA proves the domain with the TLS-ALPN-01 challenge on port 443'],
    [{ url: 'https://spire-bundle.example.org:8443', servicePort: 443, profile: ACME_PROFILE }, 'bundleEndpoint.profile "servicePort 443, URL port 8443": the ACME CA proves the domain with the TLS-ALPN-01 challenge on port 443'],
    [{ servicePort: 0 }, 'bundleEndpoint.servicePort "0": a port is a whole number'],
    [{ profile: BundleEndpointProfile.httpsWebServingCert({ secretName: 'bundle-tls', fileSyncInterval: '1d' }) }, 'bundleEndpoint.profile "1d": a TTL is a positive Go duration'],
  ])('%j is rejected: %s', (bundleEndpoint, message) => {
    expect(synthErrors(withEndpoint(bundleEndpoint).app)).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
  });
});
