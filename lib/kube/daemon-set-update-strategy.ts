import { IConstruct } from 'constructs';
import { changeRendered } from './objects';
import { Problem } from '../validation/rules';

/** How far a rolling update may go at once. */
export interface DaemonSetRollingUpdateOptions {
  /**
   * Nodes whose pod may be down at once during the update: a whole number,
   * e.g. "1", or a percentage of the nodes, e.g. "10%" (rounded up).
   * @default "1", Kubernetes': one node at a time loses its agent and CSI driver
   */
  readonly maxUnavailable?: string;
}

/** How the agent's pods (with the CSI driver in them) are replaced when their template changes. */
export class DaemonSetUpdateStrategy {
  /** Replace the pods node by node, at most `maxUnavailable` at once. */
  public static rollingUpdate(options: DaemonSetRollingUpdateOptions = {}): DaemonSetUpdateStrategy {
    return new DaemonSetUpdateStrategy('RollingUpdate', options.maxUnavailable);
  }

  /** Replace a pod only once it is deleted, e.g. by a node drain or by hand: no change rolls over the nodes by itself. */
  public static onDelete(): DaemonSetUpdateStrategy {
    return new DaemonSetUpdateStrategy('OnDelete');
  }

  private constructor(public readonly type: string, public readonly maxUnavailable?: string) {}
}

const WHOLE_NUMBER = /^[1-9][0-9]*$/;
const PERCENTAGE = /^([1-9][0-9]?|100)%$/;

/** The DaemonSet's `updateStrategy` field. */
export function renderUpdateStrategy(strategy: DaemonSetUpdateStrategy): object {
  const maxUnavailable = strategy.maxUnavailable;
  if (maxUnavailable === undefined) return { type: strategy.type };
  return { type: strategy.type, rollingUpdate: { maxUnavailable: WHOLE_NUMBER.test(maxUnavailable) ? Number(maxUnavailable) : maxUnavailable } };
}

/** Writes the strategy into the rendered DaemonSet; unset, Kubernetes' default applies. */
export function applyUpdateStrategy(daemonSet: IConstruct, strategy: DaemonSetUpdateStrategy | undefined): void {
  if (strategy === undefined) return;
  changeRendered(daemonSet, (rendered) => {
    rendered.spec.updateStrategy = renderUpdateStrategy(strategy);
  });
}

/** A DaemonSet never surges, so at least one pod must be allowed down, counted as nodes or as a share of them. */
export function checkMaxUnavailable(strategy: DaemonSetUpdateStrategy | undefined): Problem | undefined {
  const maxUnavailable = strategy?.maxUnavailable;
  if (maxUnavailable === undefined || WHOLE_NUMBER.test(maxUnavailable) || PERCENTAGE.test(maxUnavailable)) return undefined;
  return {
    value: maxUnavailable,
    rule: 'maxUnavailable is a whole number of nodes of at least 1, or a percentage from 1% to 100%; with no surge, 0 would never update a pod',
    fix: 'use e.g. "1" or "10%"',
  };
}
