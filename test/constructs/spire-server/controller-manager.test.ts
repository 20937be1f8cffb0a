import { ApiObject } from 'cdk8s';
import { EntryIdCleanup, ReconcileOptions } from '../../../lib/config/controller-manager-config';
import { LogFormat } from '../../../lib/config/log-format';
import { LogLevel } from '../../../lib/config/spire-config';
import { ClusterStaticEntry } from '../../../lib/constructs/cluster-static-entry';
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

describe('SpireServer controller manager entry IDs', () => {
  const managerConfig = (server: StackOverrides['server']) => buildStack({ server }).server.controllerManagerConfig;

  test('entries carry the cluster name as prefix unless another is given, so entries made by hand are kept', () => {
    expect(managerConfig({}).entryIDPrefix).toBe('test');
    expect(managerConfig({ clusterName: 'prod.eu-1' }).entryIDPrefix).toBe('prod-eu-1');
    expect(managerConfig({ controllerManager: { entryIdPrefix: 'mesh_A' } }).entryIDPrefix).toBe('mesh_A');
    expect(managerConfig({})).not.toHaveProperty('entryIDPrefixCleanup');
  });

  test('the cleanup names a previous prefix, or the entries without one', () => {
    expect(managerConfig({ controllerManager: { entryIdPrefixCleanup: EntryIdCleanup.unprefixed() } }).entryIDPrefixCleanup).toBe('');
    expect(managerConfig({ controllerManager: { entryIdPrefixCleanup: EntryIdCleanup.withPrefix('old.cluster') } }).entryIDPrefixCleanup).toBe('old.cluster');
  });

  test.each([
    ['prod.eu', 'an entry ID prefix is 1 to 218 letters, digits, "-" and "_"'],
    ['', 'an entry ID prefix is 1 to 218 letters'],
    ['team a', 'an entry ID prefix is 1 to 218 letters'],
    ['x'.repeat(219), 'an entry ID prefix is 1 to 218 letters'],
  ])('entryIdPrefix %j is rejected', (entryIdPrefix, rule) => {
    expect(errorsWith({ controllerManager: { entryIdPrefix } })).toEqual([
      expect.stringContaining(`[spire/Server] controllerManager.entryIdPrefix ${JSON.stringify(entryIdPrefix)}: ${rule}`),
    ]);
  });

  test('a derived prefix too long for SPIRE\'s entry IDs asks for one of the user\'s', () => {
    const clusterName = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}`;
    expect(errorsWith({ clusterName })).toContainEqual(expect.stringContaining('Fix: set controllerManager.entryIdPrefix to such a name'));
    expect(errorsWith({ clusterName: 'x'.repeat(218) })).toEqual([]);
  });

  test.each([
    [EntryIdCleanup.withPrefix('test'), 'it is the current entryIdPrefix'],
    [EntryIdCleanup.withPrefix('test.'), 'it is the current entryIdPrefix'],
    [EntryIdCleanup.withPrefix('old/prefix'), 'a previous entry ID prefix is 1 to 218 of SPIRE\'s entry ID characters'],
  ])('cleanup %j is rejected', (entryIdPrefixCleanup, rule) => {
    expect(errorsWith({ controllerManager: { entryIdPrefixCleanup } })).toEqual([
      expect.stringContaining(`controllerManager.entryIdPrefixCleanup ${JSON.stringify(entryIdPrefixCleanup.previousPrefix)}: ${rule}`),
    ]);
  });
});

describe('SpireServer controller manager runtime settings', () => {
  const managerConfig = (server: StackOverrides['server']) => buildStack({ server }).server.controllerManagerConfig;
  const managerContainer = (server: StackOverrides['server']) => ApiObject.of(buildStack({ server }).server.statefulSet).toJson()
    .spec.template.spec.containers.find((container: any) => container.name === 'spire-controller-manager');

  test('gcInterval, log level and encoding are written only when set, the interval in nanoseconds', () => {
    const defaults = managerConfig({});
    for (const key of ['gcInterval', 'logLevel', 'logEncoding', 'reconcile', 'cacheNamespaces']) expect([key, defaults[key]]).toEqual([key, undefined]);
    const config = managerConfig({ controllerManager: { gcInterval: '1m30s', logLevel: LogLevel.DEBUG, logFormat: LogFormat.JSON } });
    expect([config.gcInterval, config.logLevel, config.logEncoding]).toEqual([90_000_000_000, 'debug', 'json']);
    expect(managerConfig({ controllerManager: { gcInterval: '250ms', logFormat: LogFormat.TEXT } })).toMatchObject({ gcInterval: 250_000_000, logEncoding: 'console' });
  });

  test.each(['10', '0s', '1d'])('gcInterval %j is rejected', (gcInterval) => {
    expect(errorsWith({ controllerManager: { gcInterval } })).toEqual([expect.stringContaining(`controllerManager.gcInterval ${JSON.stringify(gcInterval)}: a TTL is a positive Go duration`)]);
  });

  test('leader election timings join the lease settings', () => {
    const leaderElection = { leaseDuration: '60s', renewDeadline: '40s', retryPeriod: '5s' };
    expect(managerConfig({ controllerManager: { leaderElection } }).leaderElection).toEqual({
      leaderElect: true, resourceName: 'spire-server-spire-controller-manager', resourceNamespace: 'spire-server', ...leaderElection,
    });
    expect(managerConfig({}).leaderElection).not.toHaveProperty('leaseDuration');
  });

  test.each([
    [{ renewDeadline: '15s' }, 'renewDeadline "15s": the leader must give up before its lease of 15s (default) runs out'],
    [{ leaseDuration: '8s' }, 'renewDeadline "10s (default)": the leader must give up before its lease of 8s runs out'],
    [{ retryPeriod: '9s' }, 'retryPeriod "9s": the renew deadline of 10s (default) must exceed 1.2 times the retry period'],
    [{ renewDeadline: '2400ms' }, 'retryPeriod "2s (default)": the renew deadline of 2400ms must exceed 1.2 times'],
    [{ leaseDuration: '15' }, 'leaseDuration "15": a TTL is a positive Go duration'],
  ])('leader election %j is rejected', (leaderElection, message) => {
    expect(errorsWith({ controllerManager: { leaderElection } })).toEqual([expect.stringContaining(`controllerManager.leaderElection.${message}`)]);
  });

  test('leader election timings in the right order are accepted', () => {
    expect(errorsWith({ controllerManager: { leaderElection: { leaseDuration: '30s', renewDeadline: '25s', retryPeriod: '20s' } } })).toEqual([]);
  });

  test('probe timing of the controller manager is the user\'s, checked as Kubernetes checks it', () => {
    const container = managerContainer({ controllerManager: { livenessProbe: { periodSeconds: 10, timeoutSeconds: 5 }, readinessProbe: { initialDelaySeconds: 5, failureThreshold: 6 } } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' }, periodSeconds: 10, timeoutSeconds: 5 });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' }, periodSeconds: 5, initialDelaySeconds: 5, failureThreshold: 6 });
    expect(managerContainer({}).livenessProbe.periodSeconds).toBe(30);
    expect(errorsWith({ controllerManager: { livenessProbe: { successThreshold: 2 }, readinessProbe: { periodSeconds: 0 } } })).toEqual([
      expect.stringContaining('controllerManager.livenessProbe.successThreshold "2": Kubernetes takes only 1'),
      expect.stringContaining('controllerManager.readinessProbe.periodSeconds "0": probe timing is a whole number of at least 1'),
    ]);
  });

  test('cache namespaces are written as the map the controller manager reads', () => {
    expect(managerConfig({ controllerManager: { cacheNamespaces: ['demo', 'payments'] } }).cacheNamespaces).toEqual({ demo: {}, payments: {} });
    expect(errorsWith({ controllerManager: { cacheNamespaces: [] } })).toEqual([expect.stringContaining('controllerManager.cacheNamespaces "[]": an empty list is read as every namespace')]);
    expect(errorsWith({ controllerManager: { cacheNamespaces: ['Demo'] } })).toEqual([expect.stringContaining('controllerManager.cacheNamespaces "Demo": a Kubernetes name of this kind is a DNS-1123 label')]);
  });
});

describe('SpireServer controller manager reconciled kinds', () => {
  const stackWith = (reconcile: ReconcileOptions) => buildStack({ server: { controllerManager: { reconcile } } });

  test('a reconcile block names every kind, since it replaces the controller manager\'s defaults as a whole', () => {
    expect(stackWith({ clusterStaticEntries: false, clusterFederatedTrustDomains: false }).server.controllerManagerConfig.reconcile)
      .toEqual({ clusterSPIFFEIDs: true, clusterStaticEntries: false, clusterFederatedTrustDomains: false });
    expect(synthErrors(stackWith({ clusterStaticEntries: false, clusterFederatedTrustDomains: false }).app)).toEqual([]);
  });

  test('a kind the output declares resources of for the class cannot be turned off', () => {
    expect(synthErrors(stackWith({ clusterSpiffeIds: false }).app)).toEqual([expect.stringContaining(
      '[spire/Server] controllerManager.reconcile.clusterSpiffeIds "false": the output declares ClusterSPIFFEID istio-mesh-workloads of class spire-server-spire, which the controller manager would then never turn into SPIRE state',
    )]);
    const stack = stackWith({ clusterStaticEntries: false });
    new ClusterStaticEntry(stack.identities, 'Node', {
      server: stack.server, name: 'vm-billing', spiffeId: 'spiffe://example.org/vm/billing',
      parentId: 'spiffe://example.org/spire/agent/join_token/vm', selectors: ['unix:uid:1000'],
    });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('controllerManager.reconcile.clusterStaticEntries "false": the output declares ClusterStaticEntry vm-billing')]);
  });
});
