import { Metrics } from '../../lib/config/metrics';
import { KubeletVerification } from '../../lib/config/agent-config';
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
