import { Testing } from 'cdk8s';
import { KeyManager } from '../../../lib/config/key-manager';
import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
import { BundleEndpointProfile } from '../../../lib/config/federation-config';
import { ServiceType } from '../../../lib/kube/service-type';
import { drain, DrainScenario, ModelNode } from '../../support/drain';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
const stackWith = (server: StackOverrides['server']) => buildStack({ server: { datastore: postgres, ...server } });
const objectsOf = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson();
const statefulSetOf = (stack: ReturnType<typeof buildStack>) => objectsOf(stack).find((o: any) => o.kind === 'StatefulSet');

describe('SpireServer high availability', () => {
  test('one replica gets neither a PodDisruptionBudget nor a spread', () => {
    const stack = stackWith({ replicas: 1 });
    expect(objectsOf(stack).filter((o: any) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(statefulSetOf(stack).spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });

  test('replicas get a PodDisruptionBudget that selects exactly the server pods', () => {
    const stack = stackWith({ replicas: 2 });
    const budgets = objectsOf(stack).filter((o: any) => o.kind === 'PodDisruptionBudget');
    expect(budgets).toEqual([expect.objectContaining({ apiVersion: 'policy/v1', metadata: { name: 'spire-server', namespace: 'spire-server' } })]);
    expect(budgets[0].spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: stack.server.podLabels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(statefulSetOf(stack).spec.template.metadata.labels).toEqual(expect.objectContaining(stack.server.podLabels));
  });

  test('replicas spread over nodes and zones as a preference, counting only server pods, taints honoured', () => {
    const stack = stackWith({ replicas: 3 });
    const constraints = statefulSetOf(stack).spec.template.spec.topologySpreadConstraints;
    expect(constraints.map((c: any) => [c.topologyKey, c.whenUnsatisfiable, c.maxSkew, c.nodeTaintsPolicy])).toEqual([
      ['kubernetes.io/hostname', 'ScheduleAnyway', 1, 'Honor'],
      ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1, 'Honor'],
    ]);
    for (const constraint of constraints) expect(constraint.labelSelector).toEqual({ matchLabels: stack.server.podLabels });
  });

  describe('a node drain', () => {
    const rendered = (replicas: number) => {
      const stack = stackWith({ replicas });
      return {
        constraints: statefulSetOf(stack).spec.template.spec.topologySpreadConstraints,
        budget: objectsOf(stack).find((o: any) => o.kind === 'PodDisruptionBudget'),
      };
    };
    const node = (name: string, room = 3, zone?: string): ModelNode => ({ name, room, zone });
    const scenario = (placement: string[], nodes: ModelNode[], ready = true): DrainScenario => ({ placement, nodes, ready, ...rendered(placement.length) });

    test('3 replicas on 2 nodes: draining the node with two moves both to the other, one at a time', () => {
      expect(drain('a', scenario(['a', 'b', 'a'], [node('a'), node('b')]))).toEqual(['b', 'b', 'b']);
    });

    test('2 replicas on 1 node: the drain moves them to the node an upgrade adds', () => {
      expect(drain('a', scenario(['a', 'a'], [node('a'), node('surge')]))).toEqual(['surge', 'surge']);
    });

    test('2 replicas on 1 node and no other: the budget keeps the last replica until a node comes', () => {
      expect(drain('a', scenario(['a', 'a'], [node('a')]))).toBeUndefined();
    });

    test('a node without room does not hold the evicted replica back from a node with room', () => {
      const nodes = [node('a', 0, 'z1'), node('b', 2, 'z1'), node('full', 0, 'z2')];
      expect(drain('a', scenario(['a', 'b', 'a'], nodes))).toEqual(['b', 'b', 'b']);
      // The same drain under a required node spread stops: the full node keeps the minimum at zero.
      const required = scenario(['a', 'b', 'a'], nodes);
      const constraints = required.constraints.map((c: any) => ({ ...c, whenUnsatisfiable: 'DoNotSchedule' }));
      expect(drain('a', { ...required, constraints })).toBeUndefined();
    });

    test('replicas that are all unready, as while the datastore is away, are still moved', () => {
      expect(drain('a', scenario(['a', 'b'], [node('a'), node('b'), node('c')], false))).toEqual(['b', 'b']);
      const strict = scenario(['a', 'b'], [node('a'), node('b'), node('c')], false);
      expect(drain('a', { ...strict, budget: { spec: { ...strict.budget.spec, unhealthyPodEvictionPolicy: undefined } } })).toBeUndefined();
    });
  });

  test.each([0, 1.5])('%j replicas are rejected on the server\'s path, and only for the count', (replicas) => {
    const message = `[spire/Server] replicas "${replicas}": replicas is a whole number of at least 1`;
    expect(synthErrors(stackWith({ replicas }).app)).toEqual([expect.stringContaining(message)]);
    expect(synthErrors(buildStack({ server: { replicas } }).app)).toEqual([expect.stringContaining(message)]);
  });

  describe('autoscaling', () => {
    const autoscaled = (server: StackOverrides['server']) => Testing.synth(stackWith(server).chart);
    const autoscalerOf = (manifests: any[]) => manifests.find((o: any) => o.kind === 'HorizontalPodAutoscaler');

    test('an autoscaler on CPU from 2 replicas sets the StatefulSet\'s count, with the budget and spread of replicas', () => {
      const manifests = autoscaled({ autoscaling: { maxReplicas: 5 } });
      expect(autoscalerOf(manifests).spec).toEqual(expect.objectContaining({
        minReplicas: 2,
        maxReplicas: 5,
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'spire-server' },
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      }));
      const statefulSet = manifests.find((o: any) => o.kind === 'StatefulSet');
      expect(statefulSet.spec).not.toHaveProperty('replicas');
      expect(statefulSet.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
      expect(manifests.filter((o: any) => o.kind === 'PodDisruptionBudget')).toHaveLength(1);
      expect(stackWith({ autoscaling: { maxReplicas: 5 } }).server.replicas).toBe(5);
    });

    test('on the spire-server container alone, at a target of its own', () => {
      const manifests = autoscaled({ autoscaling: { minReplicas: 3, maxReplicas: 4, targetCpuUtilizationPercent: 60, serverContainerOnly: true } });
      expect(autoscalerOf(manifests).spec.metrics).toEqual([
        { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'spire-server', target: { type: 'Utilization', averageUtilization: 60 } } },
      ]);
      expect(autoscalerOf(manifests).spec.minReplicas).toBe(3);
    });

    test('no autoscaler without autoscaling', () => {
      expect(autoscalerOf(autoscaled({ replicas: 2 }))).toBeUndefined();
    });

    test('maxReplicas gets the checks replicas gets: sqlite, a key manager that loses keys, ACME', () => {
      expect(synthErrors(buildStack({ server: { autoscaling: { maxReplicas: 3 } } }).app)).toEqual([expect.stringContaining(
        '[spire/Server] autoscaling.maxReplicas "3": the sqlite datastore lives on one replica\'s volume, so replicas cannot share it. Fix: leave autoscaling out and run one replica',
      )]);
      expect(synthErrors(stackWith({ autoscaling: { maxReplicas: 3 }, keyManager: KeyManager.memory() }).app)).toEqual([
        expect.stringContaining('[spire/Server] keyManager "memory": with 3 replicas and no upstream authority'),
      ]);
      const acme = BundleEndpointProfile.httpsWebAcme({ domainName: 'spire-bundle.example.org', email: 'ops@example.org', tosAccepted: true });
      const bundleEndpoint = { url: 'https://spire-bundle.example.org', servicePort: 443, serviceType: ServiceType.LOAD_BALANCER, profile: acme };
      expect(synthErrors(stackWith({ autoscaling: { maxReplicas: 3 }, bundleEndpoint }).app)).toEqual([
        expect.stringContaining('[spire/Server] bundleEndpoint.profile "ACME with 3 replicas"'),
      ]);
    });

    test.each<[StackOverrides['server'], string]>([
      [{ replicas: 2, autoscaling: { maxReplicas: 3 } }, 'replicas "2": with autoscaling the autoscaler sets the replica count'],
      [{ autoscaling: { maxReplicas: 2 } }, 'autoscaling.maxReplicas "2": the autoscaler scales between minReplicas (2) and maxReplicas'],
      [{ autoscaling: { minReplicas: 0, maxReplicas: 2 } }, 'autoscaling.minReplicas "0": replicas is a whole number of at least 1'],
      [{ autoscaling: { maxReplicas: 3, targetCpuUtilizationPercent: 0 } }, 'autoscaling.targetCpuUtilizationPercent "0": the target CPU utilization is a whole percentage'],
      [{ autoscaling: { maxReplicas: 3 }, resources: { limits: { memory: '512Mi' } } }, 'resources "{\\"limits\\":{\\"memory\\":\\"512Mi\\"}}": the autoscaler measures CPU use in percent of the request, and the spire-server container'],
      [{ autoscaling: { maxReplicas: 3 }, controllerManagerResources: { requests: { memory: '64Mi' } } }, 'the spire-controller-manager container would have no CPU request'],
    ])('%j is refused: %s', (server, message) => {
      expect(synthErrors(stackWith(server).app)).toEqual([expect.stringContaining(message)]);
    });

    test('the controller manager\'s CPU request is not needed when only spire-server is measured', () => {
      const server = { autoscaling: { maxReplicas: 3, serverContainerOnly: true }, controllerManagerResources: { requests: { memory: '64Mi' } } };
      expect(synthErrors(stackWith(server).app)).toEqual([]);
    });
  });
});
