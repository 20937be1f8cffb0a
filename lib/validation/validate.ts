import { Construct } from 'constructs';
import { formatProblem, Problem } from './rules';

/** One value to check: what it is (e.g. "trustDomain") and the check's outcome. */
export type Check = [what: string, problem: Problem | undefined];

/**
 * Registers checks that run when the app synthesizes. cdk8s prefixes every
 * message with the construct path, so each error names construct, value,
 * rule and fix.
 */
export function validateAtSynth(scope: Construct, checks: () => Check[]): void {
  scope.node.addValidation({
    validate: () => checks()
      .filter((check): check is [string, Problem] => check[1] !== undefined)
      .map(([what, problem]) => formatProblem(what, problem)),
  });
}
