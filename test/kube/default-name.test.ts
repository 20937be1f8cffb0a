import { Names, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { defaultName } from '../../lib/kube/default-name';

const LONG_ID = 'PaymentsLedgerReconciliationWorkersOfTheNightlySettlementRun';

function constructAt(...ids: string[]): Construct {
  return ids.reduce<Construct>((scope, id) => new Construct(scope, id), Testing.app());
}

describe('default names from construct paths', () => {
  test('a path that fits in a DNS label is its components, without a hash', () => {
    expect(defaultName(constructAt('identities', 'Team-A'))).toBe('identities-team-a');
    expect(defaultName(constructAt('spire'))).toBe('spire');
  });

  test('a longer path keeps its last components and gets a hash of the whole path', () => {
    const name = defaultName(constructAt('identities', 'TeamAlpha', LONG_ID));
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name).toMatch(/paymentsledgerreconciliationworkers.*-[0-9a-f]{8}$/);
  });

  test('two long paths that differ only in what the limit cuts off get different names', () => {
    const alpha = constructAt('identities', 'TeamAlpha', LONG_ID);
    const beta = constructAt('identities', 'TeamBeta', LONG_ID);
    // Truncated without a hash, both would be the same name.
    expect(Names.toDnsLabel(alpha, { includeHash: false })).toBe(Names.toDnsLabel(beta, { includeHash: false }));
    expect(defaultName(alpha)).not.toBe(defaultName(beta));
  });

  test('the same path always gives the same name', () => {
    expect(defaultName(constructAt('identities', 'TeamAlpha', LONG_ID))).toBe(defaultName(constructAt('identities', 'TeamAlpha', LONG_ID)));
  });
});
