import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
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
});
