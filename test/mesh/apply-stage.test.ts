import { ApiObject, Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../../lib';
import { buildStack, synthErrors } from '../support/stack';

/** A construct of a user's app: a quota the platform team applies only after another construct, by default the Istio profile. */
class TenantQuota extends Construct implements IApplyStaged {
  public readonly applyStage = ApplyStage.WORKLOADS;
  public readonly applyPrerequisites: ApplyPrerequisite[];

  constructor(scope: Construct, id: string, after: IConstruct, prerequisite: Partial<ApplyPrerequisite> = {}) {
    super(scope, id);
    this.applyPrerequisites = [{ construct: after, reason: 'its policy is enforced by istio-proxy', ...prerequisite }];
    new ApiObject(this, 'Resource', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: id.toLowerCase(), namespace: 'team' } });
    ApplyStages.declare(this);
  }
}

describe('constructs that state their apply stage', () => {
  test('a user construct is ordered after its prerequisites: refused before them, accepted after', () => {
    const stack = buildStack();
    new TenantQuota(stack.identities, 'Quota', stack.profile);
    expect(synthErrors(stack.app)).toEqual([
      '[SpireIstioLayout] identities/Quota is in chart identities, which does not come after istio: its policy is enforced by istio-proxy. Fix: move it to a chart of its own and call identities.addDependency(istio), or compose the stages with SpireIstioMesh.',
    ]);
    const later = buildStack();
    new TenantQuota(later.apps, 'Quota', later.profile);
    expect(synthErrors(later.app)).toEqual([]);
  });

  test('a prerequisite that may share the chart is accepted there, and its own fix is given', () => {
    const stack = buildStack();
    new TenantQuota(stack.identities, 'Shared', stack.identity, { mayShareChart: true });
    new TenantQuota(stack.chart, 'Before', stack.identity, { mayShareChart: true });
    new TenantQuota(stack.identities, 'Early', stack.profile, { fix: 'apply it with the workloads' });
    expect(synthErrors(stack.app)).toEqual([
      expect.stringContaining('spire/Before is in chart spire, which does not come after identities'),
      expect.stringContaining('identities/Early is in chart identities, which does not come after istio: its policy is enforced by istio-proxy. Fix: apply it with the workloads.'),
    ]);
  });

  test('a construct is recognised by its declaration, not by having the properties', () => {
    const stack = buildStack();
    const undeclared = Object.assign(new Construct(stack.identities, 'Undeclared'), { applyStage: ApplyStage.WORKLOADS, applyPrerequisites: [{ construct: stack.profile, reason: 'x' }] });
    expect([ApplyStages.isStaged(undeclared), ApplyStages.isStaged(stack.identity), ApplyStages.isStaged({}), ApplyStages.isStaged(null)]).toEqual([false, true, false, false]);
    expect(synthErrors(stack.app)).toEqual([]);
  });

  test('problems are listed in the order of the stages, whatever the order of the tree', () => {
    const stack = buildStack();
    const early = new Chart(stack.app, 'early', { disableResourceNameHashes: true });
    new TenantQuota(early, 'Quota', stack.profile);
    const entry = new ApiObject(early, 'Entry', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'entry', namespace: 'team' } });
    ApplyStages.stage(entry, ApplyStage.IDENTITIES, { construct: stack.server, reason: 'the server reads it' });
    expect(synthErrors(stack.app)).toEqual([
      expect.stringContaining('early/Entry is in chart early, which does not come after spire: the server reads it'),
      expect.stringContaining('early/Quota is in chart early, which does not come after istio'),
    ]);
  });
});

describe('ApplyStages.stage, for constructs whose class states no stage', () => {
  test('each call adds a prerequisite of the one stage', () => {
    const stack = buildStack();
    const gateway = new ApiObject(stack.identities, 'Gateway', { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'edge', namespace: 'team' } });
    ApplyStages.stage(gateway, ApplyStage.WORKLOADS, { construct: stack.server, reason: 'SPIRE runs first' });
    ApplyStages.stage(gateway, ApplyStage.WORKLOADS, { construct: stack.profile, reason: 'a Gateway is an Istio CRD' });
    expect(synthErrors(stack.app)).toEqual([expect.stringContaining('identities/Gateway is in chart identities, which does not come after istio: a Gateway is an Istio CRD')]);
    expect(() => ApplyStages.stage(gateway, ApplyStage.ISTIO, { construct: stack.profile, reason: 'x' }))
      .toThrow('identities/Gateway: its apply stage is WORKLOADS, not ISTIO. Fix: state one stage for it.');
  });

  test('a construct whose class states its stage is refused', () => {
    const stack = buildStack();
    expect(() => ApplyStages.stage(stack.identity, ApplyStage.IDENTITIES, { construct: stack.server, reason: 'x' }))
      .toThrow('identities/Identity: its class states its apply stage already. Fix: add the prerequisite to its applyPrerequisites.');
  });
});
