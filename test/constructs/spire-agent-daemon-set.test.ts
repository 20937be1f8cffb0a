import { ApiObject } from 'cdk8s';
import { DaemonSetUpdateStrategy } from '../../lib/kube/daemon-set-update-strategy';
import { LogFormat } from '../../lib/config/log-format';
import { Metrics } from '../../lib/config/metrics';
import { AgentSdsOptions, KubeletPodsPermission, KubeletVerification, RebootstrapMode } from '../../lib/config/agent-config';
import { FederationPartner, FederationProfileType } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const errorsWith = (agent: StackOverrides['agent']) => synthErrors(buildStack({ agent }).app);
const pluginData = (config: any, type: string, name: string) => config.plugins[type].find((entry: any) => entry[name])[name].plugin_data;

describe('SpireAgentDaemonSet', () => {
  test('the admin socket is never in the public Workload API directory', () => {
    expect(errorsWith({ adminSocketDir: '/run/secrets/workload-spiffe-uds' })).toEqual([expect.stringContaining('adminSocketDir "/run/secrets/workload-spiffe-uds": the admin socket would share')]);
    expect(errorsWith({ adminSocketDir: '/run/secrets/workload-spiffe-uds/admin' })).toEqual([expect.stringContaining('the admin socket would share')]);
    const { agent, app } = buildStack({ agent: { adminSocketDir: '/tmp/spire-agent/private' } });
    expect(synthErrors(app)).toEqual([]);
    expect((agent.agentConfig as any).agent.admin_socket_path).toBe('/tmp/spire-agent/private/admin.sock');
  });

  test('kubelet verification is a typed choice; skip is the default', () => {
    const verification = (kubeletVerification?: any) => {
      const { agent } = buildStack({ agent: { kubeletVerification } });
      const { node_name_env: _, disable_container_selectors: __, ...data } = pluginData(agent.agentConfig, 'WorkloadAttestor', 'k8s');
      return data;
    };
    expect(verification()).toEqual({ skip_kubelet_verification: true });
    expect(verification(KubeletVerification.clusterCa())).toEqual({ skip_kubelet_verification: false });
    expect(verification(KubeletVerification.hostCa('/etc/kubernetes/pki/kubelet-ca.crt'))).toEqual({ skip_kubelet_verification: false, kubelet_ca_path: '/run/spire/kubelet-ca.crt' });
    expect(errorsWith({ kubeletVerification: KubeletVerification.hostCa('relative/ca.crt') })).toEqual([expect.stringContaining('kubeletVerification.hostPath "relative/ca.crt"')]);
  });

  test('the hostCa bundle is mounted read-only from the node', () => {
    const { app } = buildStack({ agent: { kubeletVerification: KubeletVerification.hostCa('/etc/kubernetes/pki/kubelet-ca.crt') } });
    const yaml = app.synthYaml();
    expect(yaml).toContain('path: /etc/kubernetes/pki/kubelet-ca.crt');
    expect(yaml).toMatch(/mountPath: \/run\/spire\/kubelet-ca.crt\n\s+name: kubelet-ca\n\s+readOnly: true/);
  });

  test('unix attestor and container selectors are options', () => {
    const { agent } = buildStack({ agent: { unixAttestor: true, disableContainerSelectors: true } });
    expect(pluginData(agent.agentConfig, 'WorkloadAttestor', 'unix')).toEqual({});
    expect(pluginData(agent.agentConfig, 'WorkloadAttestor', 'k8s').disable_container_selectors).toBe(true);
  });

  test('paths and names are checked', () => {
    expect(errorsWith({ socketFileName: 'a/b' })).toEqual([expect.stringContaining('socketFileName "a/b"')]);
    expect(errorsWith({ hostSocketDir: '/run/spire/' })).toEqual([expect.stringContaining('hostSocketDir "/run/spire/"')]);
    expect(errorsWith({ image: 'ghcr.io/spiffe/spire-agent:latest' })).toEqual([expect.stringContaining('image "ghcr.io/spiffe/spire-agent:latest"')]);
    expect(errorsWith({ namespace: 'spire-server' })).toEqual([
      expect.stringContaining('Namespace spire-server (v1) is defined twice, at spire/Server/Namespace/Resource and at spire/Agent/Namespace/Resource'),
      expect.stringContaining('the agent needs a privileged namespace'),
    ]);
  });

  test.each([
    [undefined, 'nodes/proxy'],
    [KubeletPodsPermission.NODES_PROXY, 'nodes/proxy'],
    [KubeletPodsPermission.NODES_PODS, 'nodes/pods'],
  ])('with kubeletPodsPermission %j the agent may only get %s, which the kubelet asks about its callers', (kubeletPodsPermission, resource) => {
    const objects = buildStack({ agent: { kubeletPodsPermission } }).chart.toJson();
    const clusterRole = objects.find((o: any) => o.kind === 'ClusterRole' && o.metadata.name === 'spire-agent-spire-agent');
    expect(clusterRole.rules.map(({ apiGroups, resources, verbs }: any) => ({ apiGroups, resources, verbs })))
      .toEqual([{ apiGroups: [''], resources: [resource], verbs: ['get'] }]);
  });

  test('a second agent for one server is refused', () => {
    const { chart, server } = buildStack();
    expect(() => new SpireAgentDaemonSet(chart, 'Agent2', { server, namespace: 'other' })).toThrow(/an agent is already registered \(spire-agent:spire-agent\)/);
  });
});

describe('SpireAgentDaemonSet metrics', () => {
  test('follow the server unless set', () => {
    expect(buildStack({ server: { metrics: Metrics.disabled() } }).agent.agentConfig).not.toHaveProperty('telemetry');
    const { agent } = buildStack({ server: { metrics: Metrics.disabled() }, agent: { metrics: Metrics.prometheus({ port: 9100 }) } });
    expect((agent.agentConfig as any).telemetry).toEqual({ Prometheus: { host: '0.0.0.0', port: 9100 } });
    expect(agent.metricsTarget).toEqual({ name: 'spire-agent', namespace: 'spire-agent', podLabels: { 'app.kubernetes.io/name': 'spire-agent' }, portNames: ['metrics'] });
  });

  test('a port the CSI driver containers of the pod bind is rejected', () => {
    expect(errorsWith({ metrics: Metrics.prometheus({ port: 9809 }) })).toEqual([expect.stringContaining('[spire/Agent] metrics.port "9809": the pod\'s container port')]);
  });
});

describe('SpireAgentDaemonSet SDS and SVID settings', () => {
  const PARTNER: FederationPartner = { trustDomain: 'partner.example', bundleEndpointUrl: 'https://bundle.partner.example', profile: FederationProfileType.HTTPS_WEB };
  const federatedStack = (agent: StackOverrides['agent']) => {
    const stack = buildStack({ agent });
    new ClusterFederatedTrustDomain(stack.identities, 'Partner', { server: stack.server, partner: PARTNER });
    return stack;
  };

  test('SPIRE\'s SDS names are Istio\'s, so a default agent writes no sds block', () => {
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('sds');
  });

  test('only the settings that differ from SPIRE\'s are written', () => {
    const { agent, app } = buildStack({ agent: { sds: { defaultAllBundlesName: 'spire-all', disableSpiffeCertValidation: true } } });
    expect(synthErrors(app)).toEqual([]);
    expect(agent.agentConfig.agent.sds).toEqual({ default_all_bundles_name: 'spire-all', disable_spiffe_cert_validation: true });
  });

  test('with federation the own bundle may take another name no proxy asks for', () => {
    const { agent, app } = federatedStack({ sds: { defaultBundleName: 'own-only' } });
    expect(synthErrors(app)).toEqual([]);
    expect(agent.agentConfig.agent.sds).toEqual({ default_bundle_name: 'own-only', default_all_bundles_name: 'ROOTCA' });
  });

  test.each<[string, AgentSdsOptions, string]>([
    ['two equal names', { defaultAllBundlesName: 'ROOTCA' }, 'sds "default_bundle_name \\"ROOTCA\\", default_all_bundles_name \\"ROOTCA\\"": SPIRE ignores the all-bundles name'],
    ['roots under neither name Istio asks for', { defaultBundleName: 'own' }, 'sds "default_bundle_name \\"own\\", default_all_bundles_name \\"ALL\\"": istio-proxy asks for the roots under "ROOTCA", which neither name is'],
    ['an empty name', { defaultAllBundlesName: '' }, 'sds.defaultAllBundlesName "": SPIRE reads an empty name as its default'],
  ])('%s is refused', (_, sds, message) => {
    expect(errorsWith({ sds })).toEqual([expect.stringContaining(message)]);
  });

  test.each<[string, AgentSdsOptions, string]>([
    ['all bundles under another name than ROOTCA', { defaultAllBundlesName: 'ALL' }, 'sds.defaultAllBundlesName "ALL": the server federates, and istio-proxy asks for the roots under "ROOTCA" only'],
    ['the SPIFFE validator turned off', { disableSpiffeCertValidation: true }, 'sds.disableSpiffeCertValidation "true": the server federates, and without the SPIFFE validator Envoy accepts any certificate'],
  ])('with federation, %s is refused', (_, sds, message) => {
    expect(synthErrors(federatedStack({ sds }).app)).toEqual([expect.stringContaining(message)]);
  });

  test('the log format is written only when set', () => {
    expect(buildStack({ agent: { logFormat: LogFormat.JSON } }).agent.agentConfig.agent.log_format).toBe('json');
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('log_format');
  });

  test('the X.509-SVID cache size is written when set, and must be positive', () => {
    expect(buildStack({ agent: { x509SvidCacheMaxSize: 5000 } }).agent.agentConfig.agent.x509_svid_cache_max_size).toBe(5000);
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('x509_svid_cache_max_size');
    expect(errorsWith({ x509SvidCacheMaxSize: 0 })).toEqual([expect.stringContaining('x509SvidCacheMaxSize "0": the cache size is a whole number of at least 1; SPIRE refuses a negative one and reads 0 as its default')]);
  });

  test('the availability target needs SVIDs that are sure to outlive it by 12h', () => {
    const longLived = buildStack({ server: { x509SvidTtl: '48h', caTtl: '288h' }, agent: { availabilityTarget: '36h' } });
    expect(synthErrors(longLived.app)).toEqual([]);
    expect(longLived.agent.agentConfig.agent.availability_target).toBe('36h');
    expect(synthErrors(buildStack({ server: { x509SvidTtl: '47h59m', caTtl: '288h' }, agent: { availabilityTarget: '36h' } }).app)).toEqual([
      expect.stringContaining('availabilityTarget "36h": the server\'s X509-SVIDs are sure to live 47h59m (the least of x509SvidTtl 47h59m'),
    ]);
    expect(synthErrors(buildStack({ server: { x509SvidTtl: '48h', caTtl: '287h' }, agent: { availabilityTarget: '36h' } }).app)).toEqual([
      expect.stringContaining('sure to live 47h50m (the least of x509SvidTtl 48h, a sixth of caTtl 287h, and 7 days), less than the target plus 12h, so SPIRE ignores the target and renews at half the lifetime. Fix: set the server\'s x509SvidTtl to at least "48h" and its caTtl to at least "288h"'),
    ]);
    expect(errorsWith({ availabilityTarget: '24h' })).toEqual([expect.stringContaining('availabilityTarget "24h": the server\'s X509-SVIDs are sure to live 1h')]);
  });

  test('the availability target is at least 24h and a Go duration', () => {
    expect(errorsWith({ availabilityTarget: '23h59m' })).toEqual([expect.stringContaining('availabilityTarget "23h59m": SPIRE refuses an availability target below 24h')]);
    expect(errorsWith({ availabilityTarget: '2d' })).toEqual([expect.stringContaining('availabilityTarget "2d": a TTL is a positive Go duration')]);
  });
});

describe('SpireAgentDaemonSet re-attestation, pod metadata and updates', () => {
  const daemonSetOf = (agent: SpireAgentDaemonSet) => ApiObject.of(agent.daemonSet).toJson();

  test('rebootstrap settings are written only when set', () => {
    const agent = buildStack({ agent: { rebootstrapMode: RebootstrapMode.AUTO, rebootstrapDelay: '30m' } }).agent;
    expect(agent.agentConfig.agent).toMatchObject({ rebootstrap_mode: 'auto', rebootstrap_delay: '30m' });
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('rebootstrap_mode');
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('rebootstrap_delay');
  });

  test('a rebootstrap delay needs re-attestation and must be a Go duration', () => {
    expect(errorsWith({ rebootstrapDelay: '5m' })).toEqual([expect.stringContaining('rebootstrapDelay "5m": the agent never attests again (rebootstrapMode never)')]);
    expect(errorsWith({ rebootstrapMode: RebootstrapMode.NEVER, rebootstrapDelay: '5m' })).toEqual([expect.stringContaining('set rebootstrapMode: RebootstrapMode.AUTO')]);
    expect(errorsWith({ rebootstrapMode: RebootstrapMode.ALWAYS, rebootstrapDelay: '1d' })).toEqual([expect.stringContaining('rebootstrapDelay "1d"')]);
    expect(errorsWith({ rebootstrapMode: RebootstrapMode.ALWAYS, rebootstrapDelay: '1h' })).toEqual([]);
  });

  test('pod labels and annotations are added to the template, next to the agent\'s own', () => {
    const { agent, app } = buildStack({ agent: { podMetadata: { labels: { team: 'platform' }, annotations: { 'fluentbit.io/parser': 'json' } } } });
    expect(synthErrors(app)).toEqual([]);
    const template = daemonSetOf(agent).spec.template.metadata;
    expect(template.labels).toEqual({ ...agent.podLabels, team: 'platform' });
    expect(template.annotations).toMatchObject({ 'fluentbit.io/parser': 'json', 'checksum/config': expect.any(String) });
    expect(daemonSetOf(agent).spec.selector.matchLabels).toEqual(agent.podLabels);
  });

  test('pod labels and annotations the agent sets itself, and invalid keys, are refused', () => {
    expect(errorsWith({ podMetadata: { labels: { 'app.kubernetes.io/name': 'other' } } }))
      .toEqual([expect.stringContaining('podMetadata.labels "app.kubernetes.io/name": the component selects its pods by this label')]);
    expect(errorsWith({ podMetadata: { annotations: { 'checksum/config': 'x' } } }))
      .toEqual([expect.stringContaining('podMetadata.annotations "checksum/config": the component sets this annotation itself')]);
    expect(errorsWith({ podMetadata: { annotations: { 'prometheus.io/port': '1' } } })).toEqual([expect.stringContaining('podMetadata.annotations "prometheus.io/port"')]);
    expect(errorsWith({ podMetadata: { labels: { team: 'a b' } } })).toEqual([expect.stringContaining('podMetadata.labels "a b"')]);
  });

  test('the update strategy is written only when set, with maxUnavailable as nodes or a share of them', () => {
    expect(daemonSetOf(buildStack().agent).spec).not.toHaveProperty('updateStrategy');
    expect(daemonSetOf(buildStack({ agent: { updateStrategy: DaemonSetUpdateStrategy.rollingUpdate({ maxUnavailable: '3' }) } }).agent).spec.updateStrategy)
      .toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 3 } });
    expect(daemonSetOf(buildStack({ agent: { updateStrategy: DaemonSetUpdateStrategy.rollingUpdate({ maxUnavailable: '10%' }) } }).agent).spec.updateStrategy)
      .toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    expect(daemonSetOf(buildStack({ agent: { updateStrategy: DaemonSetUpdateStrategy.onDelete() } }).agent).spec.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  test.each(['0', '0%', '101%', 'one', '-1'])('maxUnavailable %s is refused', (maxUnavailable) => {
    expect(errorsWith({ updateStrategy: DaemonSetUpdateStrategy.rollingUpdate({ maxUnavailable }) }))
      .toEqual([expect.stringContaining(`updateStrategy.maxUnavailable "${maxUnavailable}": maxUnavailable is a whole number of nodes of at least 1`)]);
  });

  test('probe timing replaces the defaults field by field', () => {
    const container = (agent: SpireAgentDaemonSet) => daemonSetOf(agent).spec.template.spec.containers.find((c: any) => c.name === 'spire-agent');
    const tuned = container(buildStack({ agent: { livenessProbe: { initialDelaySeconds: 15, periodSeconds: 60 }, readinessProbe: { timeoutSeconds: 3 } } }).agent);
    expect(tuned.livenessProbe).toMatchObject({ initialDelaySeconds: 15, periodSeconds: 60, failureThreshold: 3, httpGet: { path: '/live' } });
    expect(tuned.readinessProbe).toMatchObject({ timeoutSeconds: 3, periodSeconds: 10, failureThreshold: 3 });
    expect(container(buildStack().agent).livenessProbe).not.toHaveProperty('initialDelaySeconds');
  });

  test('probe timing follows the API server\'s rules', () => {
    expect(errorsWith({ livenessProbe: { periodSeconds: 0 } })).toEqual([expect.stringContaining('livenessProbe.periodSeconds "0": probe timing is a whole number of at least 1')]);
    expect(errorsWith({ readinessProbe: { initialDelaySeconds: 1.5 } })).toEqual([expect.stringContaining('readinessProbe.initialDelaySeconds "1.5"')]);
    expect(errorsWith({ livenessProbe: { successThreshold: 2 } })).toEqual([expect.stringContaining('livenessProbe.successThreshold "2": Kubernetes takes only 1')]);
    expect(errorsWith({ readinessProbe: { successThreshold: 2 } })).toEqual([]);
  });

  test('authorized delegates are written when set, and need the admin socket and IDs of the trust domain', () => {
    const delegate = 'spiffe://example.org/ns/proxy/sa/node-proxy';
    expect(buildStack({ agent: { adminSocketDir: '/run/spire/agent-admin', authorizedDelegates: [delegate] } }).agent.agentConfig.agent.authorized_delegates).toEqual([delegate]);
    expect(buildStack().agent.agentConfig.agent).not.toHaveProperty('authorized_delegates');
    expect(errorsWith({ authorizedDelegates: [delegate] })).toEqual([expect.stringContaining('authorizedDelegates "spiffe://example.org/ns/proxy/sa/node-proxy": delegates call the Delegated Identity API on the agent\'s admin socket')]);
    expect(errorsWith({ adminSocketDir: '/run/spire/agent-admin', authorizedDelegates: ['spiffe://other.org/proxy'] })).toEqual([expect.stringContaining('the ID is not in the trust domain example.org')]);
  });

  test('the k8s attestor\'s container locator settings are written only when set', () => {
    const k8s = (agent: SpireAgentDaemonSet) => pluginData(agent.agentConfig, 'WorkloadAttestor', 'k8s');
    expect(k8s(buildStack({ agent: { useNewContainerLocator: false, verboseContainerLocatorLogs: true } }).agent))
      .toMatchObject({ use_new_container_locator: false, verbose_container_locator_logs: true });
    expect(k8s(buildStack().agent)).not.toHaveProperty('use_new_container_locator');
    expect(k8s(buildStack().agent)).not.toHaveProperty('verbose_container_locator_logs');
  });

  test('experimental settings make an experimental block of what is set, with a Go duration for the sync interval', () => {
    expect(buildStack({ agent: { experimental: { syncInterval: '10s', featureFlags: [] } } }).agent.agentConfig.agent.experimental).toEqual({ sync_interval: '10s' });
    expect(buildStack({ agent: { experimental: { requirePqKem: true, featureFlags: ['flag_a'] } } }).agent.agentConfig.agent.experimental)
      .toEqual({ require_pq_kem: true, feature_flags: ['flag_a'] });
    expect(buildStack({ agent: { experimental: {} } }).agent.agentConfig.agent).not.toHaveProperty('experimental');
    expect(errorsWith({ experimental: { syncInterval: '5' } })).toEqual([expect.stringContaining('experimental.syncInterval "5"')]);
  });
});
