import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The e2e runs wait for the workloads' rollouts from one list of Deployments instead of a
// `kubectl rollout status` each: a rollout counts as complete by kubectl's rule, not sooner.
const PODS_JS = path.join(__dirname, '..', '..', 'e2e', 'lib', 'pods.js');

const deployment = (name: string, generation: number, replicas: number | undefined, status: object) => ({
  metadata: { namespace: 'demo', name, generation },
  spec: replicas === undefined ? {} : { replicas },
  status,
});

test('rollouts-incomplete lists each Deployment kubectl rollout status would still wait for', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollouts-'));
  const file = path.join(dir, 'deployments.json');
  const done = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
  fs.writeFileSync(file, JSON.stringify({ items: [
    deployment('complete', 2, 2, done),
    deployment('default-one-replica', 1, undefined, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
    deployment('generation-not-observed', 3, 2, done),
    deployment('not-all-updated', 2, 3, { ...done, replicas: 3 }),
    deployment('old-replicas-left', 2, 2, { ...done, replicas: 3 }),
    deployment('not-all-available', 2, 2, { ...done, availableReplicas: 1 }),
    deployment('no-status-yet', 1, 1, {}),
  ] }));
  const result = spawnSync('node', [PODS_JS, 'rollouts-incomplete', file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true });
  expect(result.status).toBe(0);
  expect(result.stdout.trim().split('\n')).toEqual([
    'demo/generation-not-observed', 'demo/not-all-updated', 'demo/old-replicas-left', 'demo/not-all-available', 'demo/no-status-yet',
  ]);
});
