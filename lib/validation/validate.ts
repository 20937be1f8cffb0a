import { Construct, IConstruct } from 'constructs';
import { formatProblem, Problem } from './rules';

/** One value to check: what it is (e.g. "trustDomain") and the check's outcome. */
export type Check = [what: string, problem: Problem | undefined];

// cdk8s validates the whole app once per chart while it synthesizes; the tree does not change
// in between, so within one synth each validation's messages are computed once.
const messagesDuringSynth = new WeakMap<IConstruct, Map<() => string[], string[]>>();

/** Runs `synth` with each validation of the app computed at most once. */
export function synthOnceValidated(root: IConstruct, synth: () => void): void {
  messagesDuringSynth.set(root, new Map());
  try {
    synth();
  } finally {
    messagesDuringSynth.delete(root);
  }
}

/** Registers a validation whose messages are computed once per synth of a SpireIstioApp. */
export function addSynthValidation(scope: IConstruct, messages: () => string[]): void {
  scope.node.addValidation({
    validate: () => {
      const cache = messagesDuringSynth.get(scope.node.root);
      if (!cache) return messages();
      const known = cache.get(messages) ?? messages();
      cache.set(messages, known);
      return known;
    },
  });
}

/**
 * Registers checks that run when the app synthesizes. cdk8s prefixes every
 * message with the construct path, so each error names construct, value,
 * rule and fix.
 */
export function validateAtSynth(scope: Construct | IConstruct, checks: () => Check[]): void {
  addSynthValidation(scope, () => checks()
    .filter((check): check is [string, Problem] => check[1] !== undefined)
    .map(([what, problem]) => formatProblem(what, problem)));
}
