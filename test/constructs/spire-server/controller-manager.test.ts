import { ApiObject } from 'cdk8s';
import { WebhookFailurePolicy } from '../../../lib/constructs/spire-server';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer ignored namespaces', () => {
  // The controller manager ignores a namespace when any pattern matches anywhere in its name.
  const ignoredBy = (patterns: string[], namespace: string) => patterns.some((pattern) => new RegExp(pattern).test(namespace));

  test('the defaults ignore exactly the system and SPIRE namespaces, not names that contain them', () => {
    const { server } = buildStack();
    const patterns: string[] = server.controllerManagerConfig.ignoreNamespaces;
    for (const namespace of ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'spire-server', 'spire-agent']) {
      expect([namespace, ignoredBy(patterns, namespace)]).toEqual([namespace, true]);
    }
    for (const namespace of ['team-spire-server-dev', 'spire-server-2', 'my-kube-system', 'istio-system-tests', 'demo']) {
      expect([namespace, ignoredBy(patterns, namespace)]).toEqual([namespace, false]);
    }
  });

  test('the agent\'s namespace is added anchored to namespaces the user gives', () => {
    const { server } = buildStack({ server: { ignoreNamespaces: ['^legacy-'] } });
    expect(server.controllerManagerConfig.ignoreNamespaces).toEqual(['^legacy-', '^spire-agent$']);
  });
});

describe('SpireServer controller manager settings', () => {
  const managerConfig = (server: StackOverrides['server']) => buildStack({ server }).server.controllerManagerConfig;
  const failurePolicies = (server: StackOverrides['server']) => {
    const webhook = ApiObject.of(buildStack({ server }).server.node.findChild('Webhook'));
    return webhook.toJson().webhooks.map((hook: any) => hook.failurePolicy);
  };

  test('parentIDTemplate is written only when set', () => {
    expect(managerConfig({})).not.toHaveProperty('parentIDTemplate');
    const template = 'spiffe://{{ .TrustDomain }}/spire/agent/aws_iid/{{ .NodeSpec.ProviderID }}';
    expect(managerConfig({ parentIdTemplate: template }).parentIDTemplate).toBe(template);
  });

  test.each([
    ['spiffe://{{ .TrustDomain }}/agent/{{ .PodMeta.Name }}', '{{ .PodMeta.Name }} is not a field the SPIRE Controller Manager provides here'],
    ['spiffe://other.org/spire/agent/{{ .NodeMeta.UID }}', 'the ID must be spiffe://example.org/<path>'],
  ])('parentIdTemplate %s is rejected', (parentIdTemplate, rule) => {
    expect(errorsWith({ parentIdTemplate })).toEqual([expect.stringContaining(`parentIdTemplate ${JSON.stringify(parentIdTemplate)}: ${rule}`)]);
  });

  test('watchClassless is off unless asked for', () => {
    expect(managerConfig({}).watchClassless).toBe(false);
    expect(managerConfig({ watchClassless: true }).watchClassless).toBe(true);
  });

  test('the webhook fails closed by default; the failure policy is a choice', () => {
    expect(failurePolicies({})).toEqual(['Fail', 'Fail']);
    expect(failurePolicies({ webhookFailurePolicy: WebhookFailurePolicy.IGNORE })).toEqual(['Ignore', 'Ignore']);
  });

  test('the cluster domain is stated, not left to the controller manager to guess', () => {
    expect(managerConfig({}).clusterDomain).toBe('cluster.local');
    expect(managerConfig({ clusterDomain: 'corp.internal' }).clusterDomain).toBe('corp.internal');
    expect(errorsWith({ clusterDomain: 'Cluster.Local' })).toEqual([expect.stringContaining('clusterDomain "Cluster.Local": a cluster domain is a DNS name')]);
  });
  test('ignored namespaces are regular expressions that must compile under RE2', () => {
    expect(errorsWith({ ignoreNamespaces: ['^team-(a|b$'] })).toEqual([expect.stringContaining('ignoreNamespaces "^team-(a|b$": it does not compile as a regular expression')]);
    expect(errorsWith({ ignoreNamespaces: ['^(?!team-).*$'] })).toEqual([expect.stringContaining('ignoreNamespaces "^(?!team-).*$": RE2, which the SPIRE Controller Manager compiles it with, has no lookarounds')]);
    expect(errorsWith({ ignoreNamespaces: ['^team-(a|b)$'] })).toEqual([]);
  });

  test.each([
    ['localhost:5000/cm', 'controllerManagerImage "localhost:5000/cm"', 'localhost:5000/cm:0.6.6'],
  ])('controllerManagerImage %j is rejected (%s); %j is accepted', (bad, message, good) => {
    expect(errorsWith({ controllerManagerImage: bad })).toEqual([expect.stringContaining(`[spire/Server] ${message}`)]);
    expect(errorsWith({ controllerManagerImage: good })).toEqual([]);
  });
});

describe('SpireServer controller manager objects', () => {
  const objects = buildStack().chart.toJson();
  const named = (kind: string, name: string) => objects.find((o: any) => o.kind === kind && o.metadata.name === name);

  // Verbs per resource of a rule set, `resource[name]` where a rule names its objects.
  const grants = (rules: any[]) => {
    const byResource: { [resource: string]: string[] } = {};
    for (const rule of rules) {
      for (const resource of rule.resources) {
        for (const name of rule.resourceNames?.length ? rule.resourceNames : ['']) {
          const key = name ? `${resource}[${name}]` : resource;
          byResource[key] = [...(byResource[key] ?? []), ...rule.verbs].sort();
        }
      }
    }
    return byResource;
  };

  test('the server\'s ClusterRole grants what k8s_psat and the controller manager call, nothing more', () => {
    const webhook = named('ValidatingWebhookConfiguration', buildStack().server.webhookConfigurationName);
    expect(grants(named('ClusterRole', 'spire-server-spire-server').rules)).toEqual({
      'tokenreviews': ['create'],
      'pods': ['get', 'list', 'watch'],
      'nodes': ['get', 'list', 'watch'],
      'namespaces': ['list', 'watch'],
      'endpoints': ['list', 'watch'],
      'clusterspiffeids': ['list', 'watch'],
      'clusterfederatedtrustdomains': ['list', 'watch'],
      'clusterstaticentries': ['list', 'watch'],
      'clusterspiffeids/status': ['update'],
      'clusterstaticentries/status': ['update'],
      'validatingwebhookconfigurations': ['list', 'watch'],
      [`validatingwebhookconfigurations[${webhook.metadata.name}]`]: ['get', 'patch'],
    });
  });

  test('the controller manager may patch only its own webhook configuration, whatever the server is called', () => {
    const { chart, server } = buildStack({ server: { namespace: 'identity', name: 'spire' } });
    const clusterRole = chart.toJson().find((o: any) => o.kind === 'ClusterRole' && o.metadata.name === 'identity-spire');
    expect(server.webhookConfigurationName).toBe('identity-spire-controller-manager-webhook');
    expect(grants(clusterRole.rules)[`validatingwebhookconfigurations[${server.webhookConfigurationName}]`]).toEqual(['get', 'patch']);
  });

  test('leader election runs on Leases in the server\'s namespace, bound to its service account', () => {
    const role = named('Role', 'spire-server-leader-election');
    expect(role.metadata.namespace).toBe('spire-server');
    expect(grants(role.rules)).toEqual({ leases: ['create', 'get', 'update'], events: ['create', 'patch'] });
    expect(named('RoleBinding', 'spire-server-leader-election').subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: 'spire-server', namespace: 'spire-server' })]);
  });

  test('the webhook Service selects the server pods, where the controller manager listens', () => {
    const service = named('Service', 'spire-controller-manager-webhook');
    const pod = objects.find((o: any) => o.kind === 'StatefulSet').spec.template;
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'spire-server' });
    const manager = pod.spec.containers.find((c: any) => c.name === 'spire-controller-manager');
    expect(manager.ports).toContainEqual(expect.objectContaining({ containerPort: service.spec.ports[0].targetPort }));
  });
});
