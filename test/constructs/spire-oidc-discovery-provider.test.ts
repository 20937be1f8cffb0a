import { ServiceType } from '../../lib/kube/service-type';
import { ApiObject, Chart } from 'cdk8s';
import { OidcKeySource } from '../../lib/config/oidc-discovery-provider-config';
import { SpireOidcDiscoveryProvider, SpireOidcDiscoveryProviderProps } from '../../lib/constructs/spire-oidc-discovery-provider';
import { LogFormat } from '../../lib/config/log-format';
import { TolerationEffect, TolerationOperator } from '../../lib/kube/pod-settings';
import { DefaultImages } from '../../lib/spire/images';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

type ProviderOverrides = Partial<Omit<SpireOidcDiscoveryProviderProps, 'server' | 'csiDriver'>>;

function withProvider(provider: ProviderOverrides = {}, server: StackOverrides['server'] = {}) {
  const stack = buildStack({ server: { jwtIssuer: 'https://oidc.example.org', ...server } });
  const oidc = new SpireOidcDiscoveryProvider(stack.identities, 'Oidc', {
    server: stack.server, csiDriver: stack.csiDriver, domains: ['oidc.example.org'], ...provider,
  });
  return { ...stack, oidc };
}

const errorsWith = (provider: ProviderOverrides, server: StackOverrides['server'] = {}) => synthErrors(withProvider(provider, server).app);
const podSpec = (oidc: SpireOidcDiscoveryProvider) => ApiObject.of(oidc.deployment).toJson().spec.template.spec;

describe('SpireOidcDiscoveryProvider configuration', () => {
  test('reads the trust domain\'s keys from the Workload API socket the CSI driver mounts', () => {
    const { oidc, csiDriver } = withProvider();
    expect(oidc.config.workload_api).toEqual({
      socket_path: `/spiffe-workload-api/${csiDriver.workloadApi.fileName}`,
      trust_domain: 'example.org',
    });
    const spec = podSpec(oidc);
    const volume = spec.volumes.find((v: any) => v.csi);
    expect(volume.csi).toEqual({ driver: csiDriver.driverName, readOnly: true });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: volume.name, mountPath: '/spiffe-workload-api', readOnly: true });
  });

  test('answers for the given domains and the Service\'s in-cluster names, over plain HTTP behind TLS termination', () => {
    const { oidc } = withProvider({ name: 'oidc', namespace: 'spire-oidc' });
    expect(oidc.config.domains).toEqual([
      'oidc.example.org', 'oidc', 'oidc.spire-oidc', 'oidc.spire-oidc.svc', 'oidc.spire-oidc.svc.cluster.local',
    ]);
    expect(oidc.config.insecure_addr).toBe(':8080');
    expect(oidc.config).not.toHaveProperty('allow_insecure_scheme');
    expect(ApiObject.of(oidc.service).toJson().spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]);
  });

  test('probes the provider\'s own health endpoints', () => {
    const { oidc } = withProvider();
    expect(oidc.config.health_checks).toEqual({ bind_port: 8008, live_path: '/live', ready_path: '/ready' });
    const container = podSpec(oidc).containers[0];
    expect(container.livenessProbe.httpGet).toEqual({ path: '/live', port: 8008, scheme: 'HTTP' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 8008, scheme: 'HTTP' });
  });

  test('names the server\'s issuer, and serves under the issuer\'s path where relying parties look', () => {
    const written = (jwtIssuer: string) => JSON.parse(JSON.stringify(withProvider({}, { jwtIssuer }).oidc.config));
    expect(written('https://oidc.example.org')).toMatchObject({ jwt_issuer: 'https://oidc.example.org' });
    expect(written('https://oidc.example.org')).not.toHaveProperty('server_path_prefix');
    expect(written('https://oidc.example.org/tenant-a')).toMatchObject({ jwt_issuer: 'https://oidc.example.org/tenant-a', server_path_prefix: '/tenant-a' });
  });

  test('its pods get an identity from a ClusterSPIFFEID of the server\'s class', () => {
    const { oidc, server } = withProvider({ namespace: 'spire-oidc' });
    const podLabels = ApiObject.of(oidc.deployment).toJson().spec.template.metadata.labels;
    const identity = oidc.identity!;
    expect(identity.selects(podLabels, { 'kubernetes.io/metadata.name': 'spire-oidc' })).toBe(true);
    expect(identity.selects(podLabels, { 'kubernetes.io/metadata.name': 'other' })).toBe(false);
    expect(ApiObject.of(identity.node.findChild('Resource')).toJson().spec.className).toBe(server.className);
  });

  test('the pinned image follows the server\'s registry unless set', () => {
    const image = (provider: ProviderOverrides, server: StackOverrides['server'] = {}) => podSpec(withProvider(provider, server).oidc).containers[0].image;
    expect(image({})).toBe(DefaultImages.OIDC_DISCOVERY_PROVIDER);
    expect(image({}, { imageRegistry: 'mirror.example/ghcr' })).toBe('mirror.example/ghcr/spiffe/oidc-discovery-provider:1.15.3');
    expect(image({ imageRegistry: 'other.example' }, { imageRegistry: 'mirror.example/ghcr' })).toBe('other.example/spiffe/oidc-discovery-provider:1.15.3');
  });
});

describe('SpireOidcDiscoveryProvider validation', () => {
  test('the default synthesizes with an issuer on one of its domains', () => {
    expect(errorsWith({})).toEqual([]);
    expect(errorsWith({}, { jwtIssuer: 'https://oidc.example.org/tenant-a' })).toEqual([]);
  });

  test('a server without an issuer is rejected, naming the server, the provider and the fix', () => {
    expect(errorsWith({}, { jwtIssuer: undefined })).toEqual([
      '[identities/Oidc] server.jwtIssuer "none": server spire/Server signs JWT-SVIDs without an iss claim, which relying parties of the discovery provider identities/Oidc reject. Fix: set the server\'s jwtIssuer to the provider\'s public URL, e.g. "https://oidc.example.org".',
    ]);
  });

  test('an issuer whose host is not one of the domains is rejected naming both', () => {
    expect(errorsWith({}, { jwtIssuer: 'https://issuer.example.org' })).toEqual([expect.stringContaining(
      '[identities/Oidc] server.jwtIssuer "https://issuer.example.org": relying parties fetch the keys from the issuer\'s host issuer.example.org, which is not one of the provider\'s domains (oidc.example.org). Fix: add "issuer.example.org" to domains',
    )]);
    expect(errorsWith({ domains: ['oidc.example.org', 'issuer.example.org'] }, { jwtIssuer: 'https://issuer.example.org' })).toEqual([]);
  });

  test('an invalid issuer is reported once, by the server', () => {
    expect(errorsWith({}, { jwtIssuer: 'oidc.example.org' })).toEqual([expect.stringContaining('[spire/Server] jwtIssuer "oidc.example.org"')]);
  });

  // The issuer's host is then not among the domains either, which is reported too.
  test.each([
    [{ domains: [] }, 'domains "[]": relying parties reach the provider at a public host name'],
    [{ domains: ['OIDC.example.org'] }, 'domains "OIDC.example.org"'],
    [{ domains: ['https://oidc.example.org'] }, 'domains "https://oidc.example.org"'],
  ])('%j is rejected (%s)', (provider, message) => {
    expect(errorsWith(provider as ProviderOverrides)).toEqual([
      expect.stringContaining(message),
      expect.stringContaining('server.jwtIssuer "https://oidc.example.org": relying parties fetch the keys from the issuer\'s host oidc.example.org, which is not one of the provider\'s domains'),
    ]);
  });

  test.each([
    [{ replicas: 0 }, 'replicas "0"'],
    [{ port: 0 }, 'port "0": a port is a whole number from 1 to 65535'],
    [{ image: 'ghcr.io/spiffe/oidc-discovery-provider' }, 'image "ghcr.io/spiffe/oidc-discovery-provider"'],
    [{ namespace: 'Spire_Oidc' }, 'namespace "Spire_Oidc"'],
  ])('%j is rejected (%s)', (provider, message) => {
    expect(errorsWith(provider as ProviderOverrides)).toEqual([expect.stringContaining(message)]);
  });

  test('a namespace the controller manager ignores is rejected: the provider would get no keys', () => {
    expect(errorsWith({ namespace: 'platform-oidc' }, { ignoreNamespaces: ['^platform-'] })).toEqual([expect.stringContaining(
      '[identities/Oidc] namespace "platform-oidc": the server\'s controller manager ignores it (pattern "^platform-"), so the provider gets no identity',
    )]);
    expect(errorsWith({ namespace: 'oidc' }, { ignoreNamespaces: ['^platform-'] })).toEqual([]);
  });

  test('the agent\'s namespace, which the controller manager ignores too, is the agent\'s alone', () => {
    expect(errorsWith({ namespace: 'spire-agent' })).toEqual([expect.stringContaining('Namespace spire-agent (v1) is defined twice')]);
  });

  test('in the server\'s own chart its ClusterSPIFFEID would apply before the controller manager runs, which the layout checks report', () => {
    const stack = buildStack({ server: { jwtIssuer: 'https://oidc.example.org' } });
    new SpireOidcDiscoveryProvider(stack.chart, 'Oidc', { server: stack.server, csiDriver: stack.csiDriver, domains: ['oidc.example.org'] });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('spire/Oidc/Identity')]);
  });
});

describe('SpireOidcDiscoveryProvider availability', () => {
  const objectsOf = (chart: Chart, kind: string) => chart.toJson().filter((object: any) => object.kind === kind);

  test('two or more replicas get a disruption budget and are spread over nodes and zones, like the server\'s', () => {
    const { oidc, identities } = withProvider({ name: 'oidc', namespace: 'spire-oidc' });
    const podLabels = ApiObject.of(oidc.deployment).toJson().spec.template.metadata.labels;
    expect(objectsOf(identities, 'PodDisruptionBudget')).toEqual([expect.objectContaining({
      metadata: { name: 'oidc', namespace: 'spire-oidc' },
      spec: { maxUnavailable: 1, selector: { matchLabels: podLabels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    })]);
    expect(podSpec(oidc).topologySpreadConstraints.map((constraint: any) => [constraint.topologyKey, constraint.whenUnsatisfiable, constraint.labelSelector.matchLabels]))
      .toEqual([['kubernetes.io/hostname', 'ScheduleAnyway', podLabels], ['topology.kubernetes.io/zone', 'ScheduleAnyway', podLabels]]);
  });

  test('one replica gets neither', () => {
    const { oidc, identities } = withProvider({ replicas: 1 });
    expect(objectsOf(identities, 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(oidc)).not.toHaveProperty('topologySpreadConstraints');
  });
});

describe('SpireOidcDiscoveryProvider keys', () => {
  test('every key gets "use": "sig" when asked, and none by default', () => {
    expect(withProvider({ setKeyUse: true }).oidc.config.set_key_use).toBe(true);
    expect(withProvider().oidc.config).not.toHaveProperty('set_key_use');
  });

  test('keys from a bundle in a ConfigMap need no CSI driver and no identity', () => {
    const stack = buildStack({ server: { jwtIssuer: 'https://oidc.example.org' } });
    const oidc = new SpireOidcDiscoveryProvider(stack.identities, 'Oidc', {
      server: stack.server, domains: ['oidc.example.org'], keySource: OidcKeySource.bundleConfigMap({ name: 'spire-bundle', key: 'bundle.spiffe' }),
    });
    expect(synthErrors(stack.app)).toEqual([]);
    expect(oidc.config.file).toEqual({ path: '/run/spire/oidc-bundle/bundle.spiffe' });
    expect(oidc.config).not.toHaveProperty('workload_api');
    const spec = podSpec(oidc);
    expect(spec.volumes.filter((volume: any) => volume.csi)).toEqual([]);
    const bundle = spec.volumes.find((volume: any) => volume.configMap?.name === 'spire-bundle');
    expect(bundle.configMap.items).toEqual([{ key: 'bundle.spiffe', path: 'bundle.spiffe' }]);
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: bundle.name, mountPath: '/run/spire/oidc-bundle', readOnly: true });
    expect(oidc.identity).toBeUndefined();
    expect(stack.identities.toJson().filter((object: any) => object.kind === 'ClusterSPIFFEID' && object.metadata.name === oidc.name)).toEqual([]);
  });

  test('keys from the Workload API need the CSI driver', () => {
    const stack = buildStack({ server: { jwtIssuer: 'https://oidc.example.org' } });
    new SpireOidcDiscoveryProvider(stack.identities, 'Oidc', { server: stack.server, domains: ['oidc.example.org'] });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining(
      '[identities/Oidc] csiDriver "none": the Workload API key source reads the keys through the agent\'s socket, which only a SPIFFE CSI driver mounts',
    )]);
  });

  test.each([
    [{ name: 'Spire_Bundle', key: 'bundle.spiffe' }, 'keySource.name "Spire_Bundle": a Kubernetes object name is a DNS-1123 subdomain'],
    [{ name: 'spire-bundle', key: 'keys/bundle' }, 'keySource.key "keys/bundle": a ConfigMap key (and the file it is mounted as) holds only letters'],
  ])('a bundle ConfigMap %j is checked', (configMap, message) => {
    expect(errorsWith({ keySource: OidcKeySource.bundleConfigMap(configMap) })).toEqual([expect.stringContaining(message)]);
  });
});

describe('SpireOidcDiscoveryProvider placement and logs', () => {
  test('pull secrets, node selector, affinity, tolerations and service account annotations reach its pods', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['edge'] }] }] } } };
    const tolerations = [{ key: 'edge', operator: TolerationOperator.EXISTS, effect: TolerationEffect.NO_SCHEDULE }];
    const { oidc, app } = withProvider({
      imagePullSecrets: ['mirror-pull'], nodeSelector: { pool: 'edge' }, affinity, tolerations,
      serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/oidc' },
    });
    expect(synthErrors(app)).toEqual([]);
    expect(podSpec(oidc)).toMatchObject({ imagePullSecrets: [{ name: 'mirror-pull' }], nodeSelector: { pool: 'edge' }, affinity, tolerations });
    const serviceAccount = oidc.node.findChild('ServiceAccount') as any;
    expect(serviceAccount.apiObject.toJson().metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/oidc' });
  });

  test('placement settings and resources are checked, naming the prop', () => {
    expect(errorsWith({ imagePullSecrets: ['Mirror_Pull'] })).toEqual([expect.stringContaining('[identities/Oidc] imagePullSecrets "Mirror_Pull"')]);
    expect(errorsWith({ tolerations: [{ value: 'x' }] })).toEqual([expect.stringContaining('[identities/Oidc] tolerations')]);
    expect(errorsWith({ resources: { requests: { memory: '64 MB' } } })).toEqual([expect.stringContaining('[identities/Oidc] resources "64 MB"')]);
  });

  test('the log format is written only when set', () => {
    expect(withProvider({ logFormat: LogFormat.JSON }).oidc.config.log_format).toBe('json');
    expect(withProvider().oidc.config).not.toHaveProperty('log_format');
  });

  test('the Service type is ClusterIP unless set', () => {
    expect(ApiObject.of(withProvider({ serviceType: ServiceType.LOAD_BALANCER }).oidc.service).toJson().spec.type).toBe('LoadBalancer');
    expect(ApiObject.of(withProvider().oidc.service).toJson().spec.type).toBe('ClusterIP');
  });

  test('pod labels and annotations are added next to the provider\'s own, which cannot be replaced', () => {
    const { oidc, app } = withProvider({ podMetadata: { labels: { team: 'identity' }, annotations: { 'fluentbit.io/parser': 'json' } } });
    expect(synthErrors(app)).toEqual([]);
    const metadata = ApiObject.of(oidc.deployment).toJson().spec.template.metadata;
    expect(metadata.labels).toEqual({ ...oidc.podLabels, team: 'identity' });
    expect(metadata.annotations).toMatchObject({ 'fluentbit.io/parser': 'json', 'checksum/config': expect.any(String) });
    expect(errorsWith({ podMetadata: { labels: { 'app.kubernetes.io/name': 'x' } } })).toEqual([expect.stringContaining('[identities/Oidc] podMetadata.labels "app.kubernetes.io/name"')]);
    expect(errorsWith({ podMetadata: { annotations: { 'checksum/config': 'x' } } })).toEqual([expect.stringContaining('[identities/Oidc] podMetadata.annotations "checksum/config"')]);
  });

  test('probe timing replaces the defaults and is checked', () => {
    const container = podSpec(withProvider({ livenessProbe: { periodSeconds: 5 }, readinessProbe: { initialDelaySeconds: 5 } }).oidc).containers[0];
    expect(container.livenessProbe).toMatchObject({ periodSeconds: 5, httpGet: { path: '/live', port: 8008 } });
    expect(container.readinessProbe).toMatchObject({ initialDelaySeconds: 5, periodSeconds: 5 });
    expect(errorsWith({ livenessProbe: { failureThreshold: 0 } })).toEqual([expect.stringContaining('[identities/Oidc] livenessProbe.failureThreshold "0"')]);
  });

  test('an Ingress serves the public domains at the issuer\'s path, with TLS from a Secret when named', () => {
    const { oidc, app } = withProvider({
      name: 'oidc', namespace: 'spire-oidc', domains: ['oidc.example.org', 'keys.example.org'],
      ingress: { className: 'nginx', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' }, tlsSecretName: 'oidc-tls' },
    }, { jwtIssuer: 'https://oidc.example.org/tenant' });
    expect(synthErrors(app)).toEqual([]);
    const ingress = oidc.ingress!.toJson();
    expect(ingress.metadata).toEqual({ name: 'oidc', namespace: 'spire-oidc', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' } });
    const backend = { service: { name: 'oidc', port: { number: 80 } } };
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      rules: ['oidc.example.org', 'keys.example.org'].map((host) => ({ host, http: { paths: [{ path: '/tenant', pathType: 'Prefix', backend }] } })),
      tls: [{ hosts: ['oidc.example.org', 'keys.example.org'], secretName: 'oidc-tls' }],
    });
    expect(withProvider({ ingress: {} }).oidc.ingress!.toJson().spec).toEqual({
      rules: [{ host: 'oidc.example.org', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: expect.any(String), port: { number: 80 } } } }] } }],
    });
    expect(withProvider().oidc.ingress).toBeUndefined();
  });

  test('the Ingress settings are checked', () => {
    expect(errorsWith({ ingress: { className: 'Nginx_Class' } })).toEqual([expect.stringContaining('[identities/Oidc] ingress.className "Nginx_Class"')]);
    expect(errorsWith({ ingress: { tlsSecretName: 'TLS' } })).toEqual([expect.stringContaining('ingress.tlsSecretName "TLS"')]);
    expect(errorsWith({ ingress: { annotations: { 'bad key!': 'x' } } })).toEqual([expect.stringContaining('ingress.annotations "bad key!"')]);
  });

  test('the keys\' URL is written when set, and must be an absolute https URL', () => {
    expect(withProvider({ jwksUri: 'https://cdn.example.org/oidc/keys' }).oidc.config.jwks_uri).toBe('https://cdn.example.org/oidc/keys');
    expect(withProvider().oidc.config.jwks_uri).toBeUndefined();
    expect(errorsWith({ jwksUri: 'http://cdn.example.org/keys' })).toEqual([expect.stringContaining('jwksUri "http://cdn.example.org/keys": the keys\' URL is an absolute https URL')]);
    expect(errorsWith({ jwksUri: '/keys' })).toEqual([expect.stringContaining('jwksUri "/keys"')]);
  });
});
