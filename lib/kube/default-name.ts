import { Names } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Kubernetes names of this kind are DNS-1123 labels. */
const MAX_NAME_LENGTH = 63;

/**
 * The name of an object whose name is not given, from the construct path:
 * its components as a DNS label (`identities-team-a`) while that fits in 63
 * characters, since no other path yields it. A longer path loses its first
 * components to the limit, and two paths that differ only there would get the
 * same name, so then cdk8s appends a hash of the whole path.
 */
export function defaultName(construct: IConstruct): string {
  const whole = Names.toDnsLabel(construct, { includeHash: false, maxLen: Number.MAX_SAFE_INTEGER });
  return whole.length <= MAX_NAME_LENGTH ? whole : Names.toDnsLabel(construct, { maxLen: MAX_NAME_LENGTH });
}
