import { ApiObject, App, Chart, YamlOutputType } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { addSynthValidation } from '../validation/validate';
import { ApplyStage, ApplyStages, IApplyStaged } from './apply-stage';

/** What the layout checks learn of the SPIRE CRDs: the constructs that emit them, or that the cluster has them already. */
export interface CrdSources {
  readonly emitters: IConstruct[];
  readonly installedElsewhere: boolean;
}

const CHECKS_ID = 'SpireIstioLayout';
const SPIRE_GROUP = 'spire.spiffe.io';
const crdSources = new WeakMap<IConstruct, { emitters: IConstruct[]; installedElsewhere: boolean }>();

/** Records a construct that emits the spire.spiffe.io CRDs, or (without one) that the cluster has them. */
export function recordSpireCrds(scope: IConstruct, emitter?: IConstruct): void {
  const sources = crdSources.get(scope.node.root) ?? { emitters: [], installedElsewhere: false };
  if (emitter) sources.emitters.push(emitter);
  else sources.installedElsewhere = true;
  crdSources.set(scope.node.root, sources);
}

/**
 * Registers, once per app, the checks that the app's output applies in order
 * and without collisions: no two objects share a name, every IstioOperator is
 * a file of its own, CRDs come before their resources, and every construct
 * that states its apply stage (IApplyStaged) comes after its prerequisites.
 */
export function registerLayoutChecks(scope: IConstruct): void {
  const root = scope.node.root;
  if (root.node.tryFindChild(CHECKS_ID)) return;
  const checks = new Construct(root as Construct, CHECKS_ID);
  addSynthValidation(checks, () => layoutProblems(root));
}

function layoutProblems(root: IConstruct): string[] {
  const tree = new ChartTree(root);
  return [
    ...outputTypeProblems(root),
    ...collisions(tree),
    ...istioOperatorProblems(tree),
    ...crdOrderProblems(root, tree),
    ...stageOrderProblems(tree),
  ];
}

function outputTypeProblems(root: IConstruct): string[] {
  if (!(root instanceof App) || [YamlOutputType.FILE_PER_CHART, YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE].includes(root.yamlOutputType)) return [];
  return ['app yamlOutputType: one file for the whole app, or one per object, loses the apply order of the stages. Fix: use YamlOutputType.FILE_PER_CHART (the default).'];
}

function namespaceOf(apiObject: ApiObject, tree: ChartTree): string | undefined {
  return apiObject.metadata.namespace ?? tree.chartOf(apiObject).namespace;
}

function objectKey(apiObject: ApiObject, tree: ChartTree): string {
  const group = apiObject.apiVersion.includes('/') ? apiObject.apiVersion.split('/')[0] : '';
  return [group, apiObject.kind, namespaceOf(apiObject, tree) ?? '', apiObject.name].join('\u0000');
}

function describe(apiObject: ApiObject, tree: ChartTree): string {
  const namespace = namespaceOf(apiObject, tree);
  return `${apiObject.kind} ${namespace ? `${namespace}/` : ''}${apiObject.name}`;
}

function collisions(tree: ChartTree): string[] {
  const first = new Map<string, ApiObject>();
  const problems: string[] = [];
  for (const apiObject of tree.apiObjects) {
    const key = objectKey(apiObject, tree);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, apiObject);
      continue;
    }
    problems.push(`${describe(apiObject, tree)} (${apiObject.apiVersion}) is defined twice, at ${earlier.node.path} and at ${apiObject.node.path}: on a cluster the second replaces the first. Fix: give one of them another name or namespace.`);
  }
  return problems;
}

function istioOperatorProblems(tree: ChartTree): string[] {
  return tree.apiObjects.filter((apiObject) => apiObject.kind === 'IstioOperator').flatMap((operator) => {
    const chart = tree.chartOf(operator);
    const others = tree.apiObjects.filter((apiObject) => apiObject !== operator && tree.chartOf(apiObject) === chart);
    if (others.length === 0) return [];
    return [`${operator.node.path}: the IstioOperator is input for istioctl install, not kubectl, but its chart ${chart.node.path} also holds ${others.slice(0, 3).map((other) => describe(other, tree)).join(', ')}${others.length > 3 ? ', …' : ''}. Fix: put the IstioSpireProfile in a chart of its own (SpireIstioMesh does).`];
  });
}

function crdOrderProblems(root: IConstruct, tree: ChartTree): string[] {
  const sources = crdSources.get(root) ?? { emitters: [], installedElsewhere: false };
  const resources = tree.apiObjects.filter((apiObject) => apiObject.apiVersion.startsWith(`${SPIRE_GROUP}/`));
  if (sources.emitters.length === 0) {
    if (sources.installedElsewhere) return [];
    return resources.slice(0, 1).map((resource) => `${resource.node.path}: a ${resource.kind} needs the ${SPIRE_GROUP} CRDs, which no chart of the app holds, so kubectl rejects it. Fix: add SpireCrds in a chart that this chart depends on, or call SpireCrds.installedElsewhere(app) when the cluster has them already.`);
  }
  const crdCharts = sources.emitters.map((emitter) => tree.chartOf(emitter));
  return resources.flatMap((resource) => {
    const chart = tree.chartOf(resource);
    if (crdCharts.some((crdChart) => tree.isAfter(chart, crdChart))) return [];
    return [orderProblem(resource, chart, crdCharts[0], `its CRD must be established first (CRDs in ${crdCharts[0].node.path})`)];
  });
}

const STAGE_ORDER = [ApplyStage.CRDS, ApplyStage.SPIRE, ApplyStage.IDENTITIES, ApplyStage.ISTIO, ApplyStage.WORKLOADS];

/** Each staged construct, in the order of the stages, must be applied after its prerequisites. */
function stageOrderProblems(tree: ChartTree): string[] {
  const staged = [...tree.staged].sort((a, b) => STAGE_ORDER.indexOf(a.applyStage) - STAGE_ORDER.indexOf(b.applyStage));
  return staged.flatMap((construct) => construct.applyPrerequisites.flatMap((prerequisite) => {
    const chart = tree.chartOf(construct);
    const before = tree.chartOf(prerequisite.construct);
    if (tree.isAfter(chart, before) || (prerequisite.mayShareChart && chart === before)) return [];
    return [orderProblem(construct, chart, before, prerequisite.reason, prerequisite.fix)];
  }));
}

function orderProblem(construct: IConstruct, chart: Chart, before: Chart, why: string, fix?: string): string {
  const where = chart === before ? `is in the same chart as ${before.node.path}` : `is in chart ${chart.node.path}, which does not come after ${before.node.path}`;
  return `${construct.node.path} ${where}: ${why}. Fix: ${fix ?? `move it to a chart of its own and call ${chart === before ? 'thatChart' : chart.node.id}.addDependency(${before.node.id}), or compose the stages with SpireIstioMesh`}.`;
}

/**
 * The app's API objects and charts, read in one walk of the tree: which chart
 * holds each construct, and which charts come after which (from chart
 * dependencies and dependencies between constructs of different charts).
 */
class ChartTree {
  public readonly apiObjects: ApiObject[] = [];
  /** The constructs that state their apply stage, in the tree's order. */
  public readonly staged: IApplyStaged[] = [];
  private readonly charts = new Map<IConstruct, Chart>();
  private readonly edges = new Map<Chart, Set<Chart>>();
  private readonly closures = new Map<Chart, Set<Chart>>();

  constructor(root: IConstruct) {
    const dependents: IConstruct[] = [];
    const visit = (construct: IConstruct, enclosing: Chart | undefined) => {
      const chart = Chart.isChart(construct) ? construct : enclosing;
      if (chart) this.charts.set(construct, chart);
      if (construct instanceof ApiObject) this.apiObjects.push(construct);
      if (ApplyStages.isStaged(construct)) this.staged.push(construct);
      if (construct.node.dependencies.length > 0) dependents.push(construct);
      for (const child of construct.node.children) visit(child, chart);
    };
    visit(root, undefined);
    for (const construct of dependents) {
      const chart = this.charts.get(construct);
      for (const dependency of construct.node.dependencies) {
        const dependencyChart = this.charts.get(dependency);
        if (chart && dependencyChart && dependencyChart !== chart) this.edgesOf(chart).add(dependencyChart);
      }
    }
  }

  /** The nearest chart holding a construct (looked up for a construct of another tree). */
  public chartOf(construct: IConstruct): Chart {
    return this.charts.get(construct) ?? Chart.of(construct);
  }

  /** Whether `chart` is synthesized after `before`, so that its file is applied later. */
  public isAfter(chart: Chart, before: Chart): boolean {
    return this.closureOf(chart).has(before);
  }

  private edgesOf(chart: Chart): Set<Chart> {
    const edges = this.edges.get(chart) ?? new Set<Chart>();
    this.edges.set(chart, edges);
    return edges;
  }

  private closureOf(chart: Chart): Set<Chart> {
    const known = this.closures.get(chart);
    if (known) return known;
    const closure = new Set<Chart>();
    const pending = [...this.edgesOf(chart)];
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (closure.has(next)) continue;
      closure.add(next);
      pending.push(...this.edgesOf(next));
    }
    this.closures.set(chart, closure);
    return closure;
  }
}
