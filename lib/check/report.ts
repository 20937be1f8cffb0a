import { ISTIOD_HELM_VALUES, ManifestObject } from './manifests';
import { SpireConfigModel } from './model';
import { CheckReport, Finding, spireEnabledPods } from './rules';

/** Exit statuses of `check`. */
export const EXIT = {
  /** Every rule had input and none found an error. */
  clean: 0,
  /** At least one error. */
  errors: 1,
  /** Bad arguments, or input that is not YAML. */
  usage: 2,
  /** No error, but some rules had nothing to check: never reported as a pass. */
  incomplete: 3,
} as const;

/** Exit statuses of `diff`, as diff(1) has them; bad arguments or input exit with `EXIT.usage`. */
export const DIFF_EXIT = {
  /** The two inputs are wired alike. */
  same: 0,
  /** At least one wiring change. */
  changed: 1,
} as const;

export function formatFinding(item: Finding): string {
  return `${item.file}: ${item.severity}: ${item.object}: ${item.message}. Fix: ${item.fix}.`;
}

/** What the input held, so that a short list of findings is never mistaken for a thorough check. */
export function checkedLines(objects: ManifestObject[], report: CheckReport): string[] {
  const { model } = report;
  const kubeObjects = objects.filter(({ doc }) => doc.kind !== ISTIOD_HELM_VALUES).length;
  const files = new Set(objects.map(({ file }) => file)).size;
  const operators = model.istioSources.filter(({ source }) => source.doc.kind === 'IstioOperator').length;
  return [
    `checked: ${kubeObjects} object(s) in ${files} file(s); ${model.pods.length} pod template(s), ${spireEnabledPods(model).length} SPIRE-enabled`,
    `checked: SPIRE configs: ${configCount('server', model.servers)}, ${configCount('agent', model.agents)}, `
      + `${model.controllerManagers.length} controller manager, ${model.unreadable.length} unreadable`,
    `checked: Istio install sources: ${operators} IstioOperator, ${model.istioSources.length - operators} istiod Helm values; `
      + `${model.clusterSpiffeIds.length} ClusterSPIFFEID(s)`,
    ...report.notRun.map((rule) => `not checked: ${rule.name}: the input has no ${rule.missing.join(', no ')}`),
  ];
}

function configCount(kind: string, configs: SpireConfigModel[]): string {
  const formats = [...new Set(configs.map((config) => config.format))].sort();
  return `${configs.length} ${kind}${formats.length > 0 ? ` (${formats.join(', ')})` : ''}`;
}

/** The closing line and exit status; `0 error(s)` is printed only when every rule ran. */
export function verdict(report: CheckReport): { line: string; status: number } {
  const errors = report.findings.filter((item) => item.severity === 'error').length;
  const warnings = report.findings.length - errors;
  const notRun = report.notRun.length;
  if (errors > 0) {
    return { line: `${errors} error(s), ${warnings} warning(s)${notRun > 0 ? `; ${notRun} rule(s) not checked` : ''}`, status: EXIT.errors };
  }
  if (notRun > 0) {
    return { line: `incomplete: ${notRun} rule(s) not checked for lack of input; the rules that ran found no error and ${warnings} warning(s)`, status: EXIT.incomplete };
  }
  return { line: `0 error(s), ${warnings} warning(s)`, status: EXIT.clean };
}
