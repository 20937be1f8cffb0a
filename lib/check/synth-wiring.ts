import { synthFailure } from '../validation/synth-failure';
import { ManifestObject } from './manifests';
import { formatFinding } from './report';
import { checkInput, Finding } from './rules';

/** The path of the construct that wrote a finding's object, when it is known. */
export type ConstructOfFinding = (finding: Finding) => string | undefined;

/**
 * Runs the wiring rules of `check` over the objects a synth is about to write
 * and throws on any error, each line naming the construct, the object, what is
 * wrong and the fix. Warnings do not stop a synth: they are about what the
 * output may not show (a namespace created elsewhere, the CAs below a server),
 * and are returned as lines of the same form.
 */
export function assertWiring(objects: ManifestObject[], constructOf: ConstructOfFinding): string[] {
  const findings = checkInput(objects).findings;
  const line = (finding: Finding) => `[${constructOf(finding) ?? finding.object}] ${formatFinding(finding)}`;
  const errors = findings.filter((finding) => finding.severity === 'error');
  if (errors.length > 0) {
    throw synthFailure(`Wiring check failed: the output breaks ${errors.length} rule(s) of \`cdk8s-spire-istio check\`, so nothing was written:\n  ${errors.map(line).join('\n  ')}`);
  }
  return findings.filter((finding) => finding.severity === 'warning').map(line);
}
