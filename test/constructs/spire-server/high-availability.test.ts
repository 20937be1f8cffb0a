import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
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
    expect(budgets[0].spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: stack.server.podLabels } });
    expect(statefulSetOf(stack).spec.template.metadata.labels).toEqual(expect.objectContaining(stack.server.podLabels));
  });

  test('replicas spread over nodes (required) and zones (preferred), counting only server pods', () => {
    const stack = stackWith({ replicas: 3 });
    const constraints = statefulSetOf(stack).spec.template.spec.topologySpreadConstraints;
    expect(constraints.map((c: any) => [c.topologyKey, c.whenUnsatisfiable, c.maxSkew])).toEqual([
      ['kubernetes.io/hostname', 'DoNotSchedule', 1],
      ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1],
    ]);
    for (const constraint of constraints) expect(constraint.labelSelector).toEqual({ matchLabels: stack.server.podLabels });
  });

  test.each([0, 1.5])('%j replicas are rejected on the server\'s path, and only for the count', (replicas) => {
    const message = `[spire/Server] replicas "${replicas}": replicas is a whole number of at least 1`;
    expect(synthErrors(stackWith({ replicas }).app)).toEqual([expect.stringContaining(message)]);
    expect(synthErrors(buildStack({ server: { replicas } }).app)).toEqual([expect.stringContaining(message)]);
  });
});
