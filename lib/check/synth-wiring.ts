import { synthFailure } from '../validation/synth-failure';
import { ManifestObject } from './manifests';
import { formatFinding } from './report';
import { checkInput, Finding } from './rules';

/** The path of the construct that wrote a finding's object, when it is known. */
export type ConstructOfFinding = (finding: Finding) => string | undefined;

/**
 * Runs the wiring rules of `check` over the objects a synth is about to write
 * and throws on any error, each line naming the construct, the object, what is
 * wrong and the fix. Warnings do not stop a synth: they are about what lies
 * outside the output (a namespace created elsewhere), which `check` reports.
 */
export function assertWiring(objects: ManifestObject[], constructOf: ConstructOfFinding): void {
  const errors = checkInput(objects).findings.filter((finding) => finding.severity === 'error');
  if (errors.length === 0) return;
  const lines = errors.map((finding) => `[${constructOf(finding) ?? finding.object}] ${formatFinding(finding)}`);
  throw synthFailure(`Wiring check failed: the output breaks ${errors.length} rule(s) of \`cdk8s-spire-istio check\`, so nothing was written:\n  ${lines.join('\n  ')}`);
}
