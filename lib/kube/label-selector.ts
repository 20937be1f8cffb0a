import { checkLabelKey, checkLabelValue, Problem } from '../validation/rules';

/** A Kubernetes label selector, as ClusterSPIFFEID's podSelector and namespaceSelector take it. */
export interface LabelSelectorSpec {
  /** Labels that must all be present with these values. @default none */
  readonly matchLabels?: { [key: string]: string };
  /** Requirements that must all hold. @default none */
  readonly matchExpressions?: LabelSelectorRequirement[];
}

/** How a selector requirement compares a label. */
export enum LabelSelectorOperator {
  IN = 'In',
  NOT_IN = 'NotIn',
  EXISTS = 'Exists',
  DOES_NOT_EXIST = 'DoesNotExist',
}

export interface LabelSelectorRequirement {
  /** The label key. */
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  /** Values for In and NotIn; none for Exists and DoesNotExist. @default none */
  readonly values?: string[];
}

/** Whether labels satisfy a selector, with the API server's semantics (an empty selector matches all). */
export function selectorMatches(selector: LabelSelectorSpec | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return labelsMatch && (selector.matchExpressions ?? []).every((requirement) => requirementMatches(requirement, labels));
}

function requirementMatches(requirement: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case LabelSelectorOperator.IN: return has && values.includes(labels[requirement.key]);
    case LabelSelectorOperator.NOT_IN: return !has || !values.includes(labels[requirement.key]);
    case LabelSelectorOperator.EXISTS: return has;
    case LabelSelectorOperator.DOES_NOT_EXIST: return !has;
  }
}

/** The label keys a selector reads. */
export function selectorKeys(selector: LabelSelectorSpec | undefined): string[] {
  return [...Object.keys(selector?.matchLabels ?? {}), ...(selector?.matchExpressions ?? []).map((requirement) => requirement.key)];
}

/** Problems in a selector's keys, values and operators. */
export function selectorProblems(selector: LabelSelectorSpec | undefined): Problem[] {
  if (!selector) return [];
  const problems: Array<Problem | undefined> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    problems.push(checkLabelKey(key), checkLabelValue(value));
  }
  for (const requirement of selector.matchExpressions ?? []) {
    problems.push(checkLabelKey(requirement.key), ...(requirement.values ?? []).map(checkLabelValue), checkRequirementValues(requirement));
  }
  return problems.filter((problem): problem is Problem => problem !== undefined);
}

function checkRequirementValues(requirement: LabelSelectorRequirement): Problem | undefined {
  const needsValues = requirement.operator === LabelSelectorOperator.IN || requirement.operator === LabelSelectorOperator.NOT_IN;
  const count = requirement.values?.length ?? 0;
  if (needsValues === count > 0) return undefined;
  return {
    value: `${requirement.key} ${requirement.operator} [${(requirement.values ?? []).join(', ')}]`,
    rule: needsValues ? `${requirement.operator} needs at least one value` : `${requirement.operator} takes no values`,
    fix: needsValues ? 'list the values to match' : 'remove the values',
  };
}
