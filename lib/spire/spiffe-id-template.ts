import { Problem } from '../validation/rules';

/** The SPIFFE ID form Istio requires: it derives the peer identity from namespace and service account. */
export const ISTIO_SPIFFE_ID_TEMPLATE = 'spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}';

/** What a template is rendered with, for the fields the checks need. */
export interface TemplateContext {
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
}

/** The controller manager's parent ID of pod entries: the `k8s_psat` agent of the pod's node. */
export const DEFAULT_PARENT_ID_TEMPLATE = 'spiffe://{{ .TrustDomain }}/spire/agent/k8s_psat/{{ .ClusterName }}/{{ .NodeMeta.UID }}';

const EXPRESSION = /\{\{-?\s*(.*?)\s*-?\}\}/g;
// The data the SPIRE Controller Manager passes to templates; a parent ID is rendered before the pod is known.
const TOP_LEVEL_FIELDS = ['TrustDomain', 'ClusterName', 'ClusterDomain'];
const NODE_FIELDS = ['NodeMeta', 'NodeSpec'];
const POD_FIELDS = ['PodMeta', 'PodSpec', ...NODE_FIELDS];

function fieldReference(objectFields: string[]): RegExp {
  return new RegExp(`^\\.(${TOP_LEVEL_FIELDS.join('|')}|(${objectFields.join('|')})(\\.[A-Z][A-Za-z0-9]*)+)$`);
}

function fieldList(objectFields: string[]): string {
  return [...TOP_LEVEL_FIELDS, ...objectFields.map((field) => `${field}.*`)].map((field) => `.${field}`).join(', ');
}

/** The template's `{{ ... }}` expressions that are not plain references to fields the controller manager provides. */
export function unknownTemplateExpressions(template: string, objectFields: string[] = POD_FIELDS): string[] {
  const reference = fieldReference(objectFields);
  return [...template.matchAll(EXPRESSION)]
    .map((match) => match[1])
    .filter((expression) => !reference.test(expression));
}

/**
 * Renders the field references of a template, so that its result can be
 * compared. Fields the context does not carry render as `<.Field>`.
 */
export function renderTemplate(template: string, context: TemplateContext): string {
  const values: Record<string, string> = {
    '.TrustDomain': context.trustDomain,
    '.ClusterName': context.clusterName,
    '.PodMeta.Namespace': context.namespace,
    '.PodSpec.ServiceAccountName': context.serviceAccountName,
  };
  return template.replace(EXPRESSION, (_, expression: string) => values[expression] ?? `<${expression}>`);
}

const SPIFFE_ID = /^spiffe:\/\/([^/]+)(\/.+)$/;

// Sentinels that cannot occur in a template show where namespace and service account land.
const ISTIO_PATH_SENTINELS = '/ns/\u0000ns/sa/\u0000sa';

function renderWithSentinels(template: string, trustDomain: string): string {
  return renderTemplate(template, { trustDomain, clusterName: '\u0000cluster', namespace: '\u0000ns', serviceAccountName: '\u0000sa' });
}

/** Whether a template yields Istio's `/ns/<namespace>/sa/<service account>` path, in whatever trust domain. */
export function yieldsIstioIdPath(template: string): boolean {
  return SPIFFE_ID.exec(renderWithSentinels(template, 'trust-domain'))?.[2] === ISTIO_PATH_SENTINELS;
}

/**
 * Checks a ClusterSPIFFEID template against this trust domain and, for mesh
 * workloads, Istio's `/ns/<namespace>/sa/<service account>` form.
 */
export function checkSpiffeIdTemplate(template: string, trustDomain: string, istioForm: boolean): Problem | undefined {
  const problem = checkTemplateFields(template, POD_FIELDS, ISTIO_SPIFFE_ID_TEMPLATE) ?? checkTemplateTrustDomain(template, trustDomain);
  if (problem || !istioForm || yieldsIstioIdPath(template)) return problem;
  return {
    value: template,
    rule: 'Istio accepts a workload identity only in the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>',
    fix: `use "${ISTIO_SPIFFE_ID_TEMPLATE}"`,
  };
}

/** Checks the controller manager's parent ID template: node fields only, in this trust domain. */
export function checkParentIdTemplate(template: string, trustDomain: string): Problem | undefined {
  return checkTemplateFields(template, NODE_FIELDS, DEFAULT_PARENT_ID_TEMPLATE) ?? checkTemplateTrustDomain(template, trustDomain);
}

function checkTemplateFields(template: string, objectFields: string[], example: string): Problem | undefined {
  const unknown = unknownTemplateExpressions(template, objectFields);
  if (unknown.length === 0) return undefined;
  return {
    value: template,
    rule: `${unknown.map((expression) => `{{ ${expression} }}`).join(', ')} is not a field the SPIRE Controller Manager provides here (${fieldList(objectFields)})`,
    fix: `use field references only, e.g. "${example}"`,
  };
}

function checkTemplateTrustDomain(template: string, trustDomain: string): Problem | undefined {
  if (SPIFFE_ID.exec(renderWithSentinels(template, trustDomain))?.[1] === trustDomain) return undefined;
  return {
    value: template,
    rule: `the ID must be spiffe://${trustDomain}/<path>: the server signs only its own trust domain`,
    fix: 'start the template with "spiffe://{{ .TrustDomain }}/"',
  };
}
