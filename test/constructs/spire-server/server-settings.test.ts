import { CaKeyType } from '../../../lib/config/key-manager';
import { LogFormat } from '../../../lib/config/log-format';
import { ClusterStaticEntry } from '../../../lib/constructs/cluster-static-entry';
import { SpireOidcDiscoveryProvider } from '../../../lib/constructs/spire-oidc-discovery-provider';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);
/** server.conf as it lands in the ConfigMap: keys whose value is unset are not written. */
const written = (server: StackOverrides['server'] = {}) => JSON.parse(JSON.stringify(buildStack({ server }).server.serverConfig));
const psatCluster = (config: any) => config.plugins.NodeAttestor[0].k8s_psat.plugin_data.clusters.test;

describe('SpireServer settings', () => {
  test('nothing is written for settings left unset', () => {
    const config = written();
    for (const key of ['log_format', 'audit_log_enabled', 'admin_ids', 'disable_jwt_svids', 'jwt_key_type', 'agent_ttl', 'ratelimit',
      'prune_attested_nodes_expired_for', 'prune_tofu_nodes', 'max_attested_node_info_staleness', 'experimental']) {
      expect(config.server).not.toHaveProperty(key);
    }
    expect(Object.keys(psatCluster(config))).toEqual(['service_account_allow_list', 'audience']);
    expect(config.plugins).not.toHaveProperty('CredentialComposer');
  });

  test('each setting is written under SPIRE\'s key', () => {
    const config = written({
      logFormat: LogFormat.JSON,
      auditLog: true,
      adminIds: ['spiffe://example.org/ns/ops/sa/spire-admin', 'spiffe://partner.example/admin'],
      jwtKeyType: CaKeyType.RSA_2048,
      agentSvidTtl: '2h',
      rateLimit: { attestation: false },
      pruneAttestedNodesExpiredFor: '24h',
      pruneTofuNodes: true,
      maxAttestedNodeInfoStaleness: '30s',
    });
    expect(config.server).toMatchObject({
      log_format: 'json',
      audit_log_enabled: true,
      admin_ids: ['spiffe://example.org/ns/ops/sa/spire-admin', 'spiffe://partner.example/admin'],
      jwt_key_type: 'rsa-2048',
      agent_ttl: '2h',
      ratelimit: { attestation: false },
      prune_attested_nodes_expired_for: '24h',
      prune_tofu_nodes: true,
      max_attested_node_info_staleness: '30s',
    });
    expect(written({ rateLimit: {} }).server).not.toHaveProperty('ratelimit');
    expect(written({ adminIds: [] }).server).not.toHaveProperty('admin_ids');
  });

  test('the k8s_psat label keys join the cluster of the agents', () => {
    const cluster = psatCluster(written({ psatAllowedNodeLabelKeys: ['topology.kubernetes.io/zone'], psatAllowedPodLabelKeys: ['app'] }));
    expect(cluster).toMatchObject({ allowed_node_label_keys: ['topology.kubernetes.io/zone'], allowed_pod_label_keys: ['app'] });
  });

  test('the uniqueid CredentialComposer is SPIRE\'s built-in plugin without data', () => {
    expect(written({ uniqueIdCredentialComposer: true }).plugins.CredentialComposer).toEqual([{ uniqueid: { plugin_data: {} } }]);
    expect(written({ uniqueIdCredentialComposer: false }).plugins).not.toHaveProperty('CredentialComposer');
  });

  test.each([
    [{ adminIds: ['spiffe://example.org'] }, 'adminIds "spiffe://example.org": a SPIFFE ID is spiffe://<trust domain>/<path>', { adminIds: ['spiffe://example.org/admin'] }],
    [{ adminIds: ['ops-admin'] }, 'adminIds "ops-admin": a SPIFFE ID is', { adminIds: ['spiffe://partner.example/ops/admin'] }],
    [{ adminIds: ['spiffe://Partner.example/admin'] }, 'adminIds "spiffe://Partner.example/admin": a trust domain holds only lowercase', { adminIds: ['spiffe://partner.example/admin'] }],
    [{ agentSvidTtl: '1d' }, 'agentSvidTtl "1d": a TTL is a positive Go duration', { agentSvidTtl: '24h' }],
    [{ pruneAttestedNodesExpiredFor: '7 days' }, 'pruneAttestedNodesExpiredFor "7 days"', { pruneAttestedNodesExpiredFor: '168h' }],
    [{ maxAttestedNodeInfoStaleness: '30' }, 'maxAttestedNodeInfoStaleness "30"', { maxAttestedNodeInfoStaleness: '30s' }],
    [{ pruneTofuNodes: true }, 'pruneTofuNodes "true": SPIRE prunes nodes only with prune_attested_nodes_expired_for', { pruneTofuNodes: true, pruneAttestedNodesExpiredFor: '24h' }],
    [{ psatAllowedNodeLabelKeys: ['zone/'] }, 'psatAllowedNodeLabelKeys "zone/"', { psatAllowedNodeLabelKeys: ['topology.kubernetes.io/zone'] }],
    [{ psatAllowedPodLabelKeys: ['app name'] }, 'psatAllowedPodLabelKeys "app name"', { psatAllowedPodLabelKeys: ['app.kubernetes.io/name'] }],
  ])('%j is rejected (%s); its neighbour %j is accepted', (bad, message, good) => {
    expect(errorsWith(bad)).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
    expect(errorsWith(good)).toEqual([]);
  });
});

describe('SpireServer without JWT-SVIDs', () => {
  test('disable_jwt_svids is written, and the server tells consumers it signs none', () => {
    const { server } = buildStack({ server: { disableJwtSvids: true } });
    expect(server.serverConfig.server.disable_jwt_svids).toBe(true);
    expect([server.jwtSvidsDisabled, buildStack().server.jwtSvidsDisabled]).toEqual([true, false]);
  });

  test.each([
    [{ jwtIssuer: 'https://oidc.example.org' }, 'jwtIssuer "https://oidc.example.org"'],
    [{ jwtSvidTtl: '5m' }, 'jwtSvidTtl "5m"'],
    [{ jwtKeyType: CaKeyType.EC_P384 }, 'jwtKeyType "ec-p384"'],
  ])('the JWT setting %j is refused with it (%s), accepted without', (jwt, message) => {
    expect(errorsWith({ ...jwt, disableJwtSvids: true })).toEqual([expect.stringContaining(`${message}: disableJwtSvids turns JWT-SVIDs off`)]);
    expect(errorsWith(jwt)).toEqual([]);
  });

  test('a discovery provider of the server is refused', () => {
    const withProvider = (disableJwtSvids: boolean) => {
      const stack = buildStack({ server: { disableJwtSvids } });
      new SpireOidcDiscoveryProvider(stack.identities, 'Oidc', { server: stack.server, csiDriver: stack.csiDriver, domains: ['oidc.example.org'] });
      return synthErrors(stack.app);
    };
    expect(withProvider(true)).toContainEqual(expect.stringContaining('[identities/Oidc] server "spire/Server": the discovery provider, which serves the keys of JWT-SVIDs, needs JWT-SVIDs, but server spire/Server has disableJwtSvids set'));
    expect(withProvider(false)).not.toContainEqual(expect.stringContaining('disableJwtSvids'));
  });

  test('JWT-SVID lifetimes of registrations are refused', () => {
    const identityErrors = (disableJwtSvids: boolean) => synthErrors(buildStack({ server: { disableJwtSvids }, identity: { jwtTtl: '5m' } }).app);
    expect(identityErrors(true)).toEqual([expect.stringContaining('[identities/Identity] jwtTtl "5m": a JWT-SVID lifetime needs JWT-SVIDs')]);
    expect(identityErrors(false)).toEqual([]);
    const entryErrors = (disableJwtSvids: boolean) => {
      const stack = buildStack({ server: { disableJwtSvids } });
      new ClusterStaticEntry(stack.identities, 'Entry', {
        server: stack.server, spiffeId: 'spiffe://example.org/vm/billing', parentId: 'spiffe://example.org/spire/agent/x509pop/vm', selectors: ['unix:uid:1000'], jwtSvidTtl: '5m',
      });
      return synthErrors(stack.app);
    };
    expect(entryErrors(true)).toEqual([expect.stringContaining('[identities/Entry] jwtSvidTtl "5m": a JWT-SVID lifetime needs JWT-SVIDs')]);
    expect(entryErrors(false)).toEqual([]);
  });
});

describe('SpireServer experimental settings', () => {
  const rego = 'package spire\n\nresult := {"allow": true}\n';
  const configMapData = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson().find((o: any) => o.kind === 'ConfigMap' && o.data?.['server.conf']).data;

  test('make an experimental block of what is set, under SPIRE\'s keys', () => {
    expect(written({ experimental: {} }).server).not.toHaveProperty('experimental');
    expect(written({ experimental: { featureFlags: [] } }).server).not.toHaveProperty('experimental');
    expect(written({
      experimental: { cacheReloadInterval: '10s', eventsBasedCache: true, pruneEventsOlderThan: '24h', requirePqKem: true, featureFlags: ['wit-svid'], agentSpiffeIdAsSelector: true },
    }).server.experimental).toEqual({
      cache_reload_interval: '10s', events_based_cache: true, prune_events_older_than: '24h', require_pq_kem: true, feature_flags: ['wit-svid'], agent_spiffe_id_as_selector: true,
    });
  });

  test('an authorization policy and its data are files of the config volume that the block names', () => {
    const stack = buildStack({ server: { experimental: { authorizationPolicy: { rego, policyData: '{"admins": []}' } } } });
    expect(stack.server.serverConfig.server.experimental.auth_opa_policy_engine).toEqual({
      local: { rego_path: '/run/spire/config/authorization-policy.rego', policy_data_path: '/run/spire/config/authorization-policy-data.json' },
    });
    expect(configMapData(stack)).toMatchObject({ 'authorization-policy.rego': rego, 'authorization-policy-data.json': '{"admins": []}' });
    const withoutData = buildStack({ server: { experimental: { authorizationPolicy: { rego } } } });
    expect(JSON.parse(JSON.stringify(withoutData.server.serverConfig)).server.experimental.auth_opa_policy_engine).toEqual({ local: { rego_path: '/run/spire/config/authorization-policy.rego' } });
    expect(configMapData(withoutData)).not.toHaveProperty(['authorization-policy-data.json']);
    expect(configMapData(buildStack())).not.toHaveProperty(['authorization-policy.rego']);
  });

  test.each([
    [{ cacheReloadInterval: '5' }, 'experimental.cacheReloadInterval "5": a TTL is a positive Go duration', { cacheReloadInterval: '30s' }],
    [{ cacheReloadInterval: '24h' }, 'experimental.cacheReloadInterval "24h": SPIRE refuses to start unless its full cache reload interval (24h) is longer', { cacheReloadInterval: '23h59m' }],
    [{ pruneEventsOlderThan: 'half a day' }, 'experimental.pruneEventsOlderThan "half a day"', { pruneEventsOlderThan: '12h' }],
    [{ pruneEventsOlderThan: '5s' }, 'experimental.pruneEventsOlderThan "5s": events are deleted before the cache, reloaded every 5s, reads them', { pruneEventsOlderThan: '6s' }],
    [{ cacheReloadInterval: '1m', pruneEventsOlderThan: '30s' }, 'experimental.pruneEventsOlderThan "30s": events are deleted before the cache, reloaded every 1m', { cacheReloadInterval: '1m', pruneEventsOlderThan: '1h' }],
    [{ featureFlags: [' '] }, 'experimental.featureFlags " ": a feature flag is a name', { featureFlags: ['wit-svid'] }],
    [{ authorizationPolicy: { rego: 'package authz\nallow := true' } }, 'experimental.authorizationPolicy.rego "package authz": SPIRE evaluates data.spire.result', { authorizationPolicy: { rego } }],
    [{ authorizationPolicy: {} as any }, 'experimental.authorizationPolicy.rego "": SPIRE evaluates data.spire.result', { authorizationPolicy: { rego } }],
    [{ authorizationPolicy: { rego, policyData: '[]' } }, 'experimental.authorizationPolicy.policyData "[]": SPIRE reads the policy data as a JSON object', { authorizationPolicy: { rego, policyData: '{}' } }],
    [{ authorizationPolicy: { rego, policyData: '{admins: []}' } }, 'experimental.authorizationPolicy.policyData "{admins: []}"', { authorizationPolicy: { rego, policyData: '{"admins": []}' } }],
  ])('%j is rejected (%s); its neighbour %j is accepted', (bad, message, good) => {
    expect(errorsWith({ experimental: bad })).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
    expect(errorsWith({ experimental: good })).toEqual([]);
  });
});
