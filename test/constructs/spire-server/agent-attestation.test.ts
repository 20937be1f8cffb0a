import { Chart } from 'cdk8s';
import { SpireServer } from '../../../lib/constructs/spire-server';
import { buildStack, synthErrors } from '../../support/stack';

describe('SpireServer agent attestation', () => {
  const stack = buildStack();
  const plugin = (name: string) => Object.values<any>(stack.server.serverConfig.plugins[name][0])[0].plugin_data;

  test('k8s_psat admits the registered agent\'s service account, with the token audience the agent presents', () => {
    expect(plugin('NodeAttestor').clusters).toEqual({
      test: { service_account_allow_list: ['spire-agent:spire-agent'], audience: [stack.server.psatAudience] },
    });
  });

  test('the trust bundle is published to the ConfigMap the agent reads, in its format', () => {
    const target = plugin('BundlePublisher').clusters.test;
    expect(target).toEqual({ namespace: 'spire-agent', configmap_name: expect.any(String), configmap_key: expect.any(String), format: expect.any(String) });
    expect(stack.agent.agentConfig.agent.trust_bundle_path).toContain(target.configmap_key);
  });

  test('the server may review tokens and read the agent\'s pod and node', () => {
    const rules = stack.chart.toJson().find((o: any) => o.kind === 'ClusterRole' && o.metadata.name === 'spire-server-spire-server').rules;
    const verbsOn = (resource: string) => rules.filter((rule: any) => rule.resources.includes(resource)).flatMap((rule: any) => rule.verbs);
    expect(verbsOn('tokenreviews')).toEqual(['create']);
    for (const resource of ['pods', 'nodes']) expect(verbsOn(resource)).toEqual(['get', 'list', 'watch']);
  });

  test('a server without an agent is rejected on its path, and renders no config', () => {
    const { app } = buildStack();
    const lonely = new SpireServer(new Chart(app, 'lonely'), 'Server', { trustDomain: 'example.org', clusterName: 'x', namespace: 'other' });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[lonely/Server] agent "none": no SpireAgentDaemonSet is registered')]);
    expect(() => lonely.serverConfig).toThrow('lonely/Server: no agent is registered, so the server would attest no node and publish no bundle');
  });
});
