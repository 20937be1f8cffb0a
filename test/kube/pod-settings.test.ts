import { ApiObject } from 'cdk8s';
import { PodPriority, TolerationEffect, TolerationOperator } from '../../lib/kube/pod-settings';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

/** The rendered pod specs and service accounts of server and agent. */
function rendered(overrides: StackOverrides = {}) {
  const { server, agent, app } = buildStack(overrides);
  const json = (construct: any) => ApiObject.of(construct).toJson();
  return {
    app,
    serverPod: json(server.statefulSet).spec.template.spec,
    agentPod: json(agent.daemonSet).spec.template.spec,
    serverAccount: json(server.serviceAccount).metadata,
    agentAccount: json(agent.serviceAccount).metadata,
  };
}

const containerResources = (pod: any, name: string) => pod.containers.find((container: any) => container.name === name).resources;

describe('pod settings of server and agent', () => {
  test('the agent runs system-node-critical unless told otherwise; the server has no priority class', () => {
    expect(rendered().agentPod.priorityClassName).toBe('system-node-critical');
    expect(rendered().serverPod).not.toHaveProperty('priorityClassName');
    expect(rendered({ agent: { priority: PodPriority.of('spire-critical') } }).agentPod.priorityClassName).toBe('spire-critical');
    expect(rendered({ agent: { priority: PodPriority.NONE } }).agentPod).not.toHaveProperty('priorityClassName');
    expect(rendered({ server: { priority: PodPriority.SYSTEM_CLUSTER_CRITICAL } }).serverPod.priorityClassName).toBe('system-cluster-critical');
  });

  test('unset, nothing new is written', () => {
    const { serverPod, agentPod, serverAccount, agentAccount } = rendered();
    for (const field of ['nodeSelector', 'affinity', 'imagePullSecrets', 'tolerations']) expect(serverPod).not.toHaveProperty(field);
    for (const field of ['nodeSelector', 'affinity', 'imagePullSecrets']) expect(agentPod).not.toHaveProperty(field);
    expect(serverAccount).not.toHaveProperty('annotations');
    expect(agentAccount).not.toHaveProperty('annotations');
  });

  test('placement, pull secrets and service account annotations are written as given', () => {
    const affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'spire-server' } } } }] } };
    const tolerations = [{ key: 'dedicated', operator: TolerationOperator.EQUAL, value: 'platform', effect: TolerationEffect.NO_SCHEDULE }];
    const { serverPod, agentPod, serverAccount, agentAccount } = rendered({
      server: { nodeSelector: { 'node-role.example/platform': 'true' }, affinity, tolerations, imagePullSecrets: ['mirror-pull'], serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/spire-server' } },
      agent: { imagePullSecrets: ['mirror-pull'], serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'spire-agent@p.iam.gserviceaccount.com' } },
    });
    expect(serverPod).toEqual(expect.objectContaining({ nodeSelector: { 'node-role.example/platform': 'true' }, affinity, tolerations, imagePullSecrets: [{ name: 'mirror-pull' }] }));
    expect(agentPod.imagePullSecrets).toEqual([{ name: 'mirror-pull' }]);
    expect(serverAccount.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/spire-server' });
    expect(agentAccount.annotations).toEqual({ 'iam.gke.io/gcp-service-account': 'spire-agent@p.iam.gserviceaccount.com' });
    expect(Object.keys(serverPod)).toEqual([...Object.keys(serverPod)].sort((a, b) => a.localeCompare(b)));
  });

  test('the agent tolerates every taint by default; given tolerations replace that, an empty list removes it', () => {
    expect(rendered().agentPod.tolerations).toEqual([{ operator: 'Exists' }]);
    const only = [{ key: 'gpu', operator: TolerationOperator.EXISTS }];
    expect(rendered({ agent: { tolerations: only } }).agentPod.tolerations).toEqual(only);
    expect(rendered({ agent: { tolerations: [] } }).agentPod).not.toHaveProperty('tolerations');
  });

  test('resources replace the defaults of the named container only', () => {
    const resources = { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } };
    const { serverPod, agentPod } = rendered({ server: { resources }, agent: { resources } });
    expect(containerResources(serverPod, 'spire-server')).toEqual(resources);
    expect(containerResources(serverPod, 'spire-controller-manager')).toEqual(containerResources(rendered().serverPod, 'spire-controller-manager'));
    expect(containerResources(agentPod, 'spire-agent')).toEqual(resources);
    expect(containerResources(agentPod, 'spiffe-csi-driver')).toEqual(containerResources(rendered().agentPod, 'spiffe-csi-driver'));
    const manager = rendered({ server: { controllerManagerResources: { limits: { memory: '384Mi' } } } }).serverPod;
    expect(containerResources(manager, 'spire-controller-manager')).toEqual({ limits: { memory: '384Mi' } });
  });

  test.each([
    [{ server: { resources: { limits: { memory: '1024Mi' } } } }, 'spire/Server] resources "1024Mi": 1024Mi is 1Gi', 'write "1Gi"'],
    [{ agent: { resources: { requests: { cpu: '0.5' } } } }, 'spire/Agent] resources "0.5": a quantity is a positive whole number', '"500m"'],
    [{ server: { controllerManagerResources: { requests: { cpu: 'half' } } } }, 'controllerManagerResources "half": a quantity is a number', '"100m"'],
    [{ agent: { priority: PodPriority.of('Critical') } }, 'spire/Agent] priority "Critical"', 'rename it'],
    [{ server: { nodeSelector: { 'bad key!': 'x' } } }, 'nodeSelector "bad key!": a label key', 'Fix'],
    [{ server: { imagePullSecrets: ['Mirror_Pull'] } }, 'imagePullSecrets "Mirror_Pull"', 'Fix'],
    [{ agent: { serviceAccountAnnotations: { 'not valid/': 'x' } } }, 'serviceAccountAnnotations "not valid/": an annotation key', 'eks.amazonaws.com/role-arn'],
    [{ agent: { tolerations: [{ key: 'gpu', operator: TolerationOperator.EXISTS, value: 'a100' }] } }, 'tolerations', 'drop the value'],
    [{ server: { tolerations: [{ key: 'gpu', tolerationSeconds: 60 }] } }, 'tolerationSeconds applies to NoExecute taints only', 'TolerationEffect.NO_EXECUTE'],
    [{ server: { tolerations: [{ value: 'x' }] } }, 'a toleration without a key must have operator Exists', 'TolerationOperator.EXISTS'],
  ] as Array<[StackOverrides, string, string]>)('%j is rejected', (overrides, message, fix) => {
    const errors = synthErrors(rendered(overrides).app);
    expect(errors).toEqual([expect.stringContaining(message)]);
    expect(errors[0]).toContain(fix);
  });
});
