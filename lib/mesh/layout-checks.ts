import { ApiObject, App, Chart, YamlOutputType } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ClusterFederatedTrustDomain } from '../constructs/cluster-federated-trust-domain';
import { ClusterSpiffeId } from '../constructs/cluster-spiffe-id';
import { ClusterStaticEntry } from '../constructs/cluster-static-entry';
import { IngressHttpRoute } from '../constructs/ingress-http-route';
import { IstioSpireProfile } from '../constructs/istio-spire-profile';
import { PartnerService } from '../constructs/partner-service';
import { SpiffeAuthorizationPolicy } from '../constructs/spiffe-authorization-policy';
import { StrictMtls } from '../constructs/strict-mtls';
import { addSynthValidation } from '../validation/validate';
import { spireEnabledPods } from './spire-identity';

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
 * a file of its own, and each stage's chart comes after the charts it needs
 * (CRDs before their resources, SPIRE before its ClusterSPIFFEIDs, its
 * ClusterStaticEntries and Istio, Istio before SPIRE-enabled workloads,
 * ingress routes and Istio security policies).
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
    ...stageOrderProblems(root, tree),
    ...federationOrderProblems(root, tree),
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

function stageOrderProblems(root: IConstruct, tree: ChartTree): string[] {
  const problems: string[] = [];
  const require = (construct: IConstruct, before: IConstruct, why: string) => {
    const chart = tree.chartOf(construct);
    const beforeChart = tree.chartOf(before);
    if (!tree.isAfter(chart, beforeChart)) problems.push(orderProblem(construct, chart, beforeChart, why));
  };
  for (const identity of ClusterSpiffeId.allIn(root)) {
    require(identity, identity.server, 'the SPIRE controller manager\'s webhook admits ClusterSPIFFEIDs, so SPIRE must run first');
  }
  for (const domain of ClusterFederatedTrustDomain.allIn(root)) {
    require(domain, domain.server, 'the SPIRE controller manager\'s webhook admits ClusterFederatedTrustDomains, so SPIRE must run first');
  }
  for (const entry of ClusterStaticEntry.allIn(root)) {
    require(entry, entry.server, 'the SPIRE controller manager registers ClusterStaticEntries, so it applies with the identities once SPIRE runs');
  }
  for (const profile of IstioSpireProfile.allIn(root)) {
    require(profile, profile.csiDriver.agent, 'SPIRE must run before Istio and its gateways start');
  }
  for (const pod of spireEnabledPods(root)) {
    require(pod.apiObject, pod.profile, 'istio-proxy looks for the SPIRE socket once, at start, so Istio with the SPIRE templates must be installed first');
  }
  for (const route of IngressHttpRoute.allIn(root)) {
    require(route, route.gateway.profile, 'its Gateway and VirtualService are Istio CRDs, which installing Istio creates');
  }
  for (const mtls of StrictMtls.allIn(root)) {
    require(mtls, mtls.profile, 'its PeerAuthentication is an Istio CRD, which installing Istio creates');
  }
  for (const service of PartnerService.allIn(root)) {
    require(service, service.profile, 'its ServiceEntry and DestinationRule are Istio CRDs, which installing Istio creates');
  }
  for (const policy of SpiffeAuthorizationPolicy.allIn(root)) {
    require(policy, policy.mtls.profile, 'its AuthorizationPolicy is an Istio CRD, which installing Istio creates');
  }
  return problems;
}

/**
 * SPIRE refuses an entry that federates with a trust domain whose bundle it
 * does not hold ("unable to find federated bundle"), so no pod of such an
 * identity gets an SVID. The bundle is held from the start when the
 * ClusterFederatedTrustDomain carries it and is applied no later than the
 * identity; otherwise it is set by hand, which needs a stage boundary between
 * the declaration and the identities that federate.
 */
function federationOrderProblems(root: IConstruct, tree: ChartTree): string[] {
  const registrations = [...ClusterSpiffeId.allIn(root), ...ClusterStaticEntry.allIn(root)];
  // A domain of another server is reported by the registration's own federatesWith check.
  return registrations.flatMap((registration) => registration.federatesWith.filter((domain) => domain.server === registration.server).flatMap((domain) => {
    const chart = tree.chartOf(registration);
    const domainChart = tree.chartOf(domain);
    if (domain.bundle !== undefined ? chart === domainChart || tree.isAfter(chart, domainChart) : tree.isAfter(chart, domainChart)) return [];
    const where = chart === domainChart ? `is in the same chart as ${domain.node.path}` : `is in chart ${chart.node.path}, which does not come after ${domainChart.node.path}`;
    const rule = domain.bundle !== undefined
      ? `the bundle of ${domain.trustDomain} comes with ${domain.node.path}, which is applied later`
      : `no bundle of ${domain.trustDomain} is in the output, so the server does not hold it when this is applied and SPIRE refuses its entries ("unable to find federated bundle"): none of its pods gets an SVID`;
    const fix = domain.bundle !== undefined
      ? `apply ${domainChart.node.id} first: ${chart.node.id}.addDependency(${domainChart.node.id})`
      : `give ${domain.node.path} the partner's bundle (bundle: PartnerBundle.fromFile, fromConfigMap or fromSpiffeJson, or the partner server's bundleEndpoint.bundle), or put the identity into a chart applied after ${domainChart.node.id} and set the bundle with \`spire-server bundle set\` in between (SpireIstioMesh.addFederatedIdentity does)`;
    return [`${registration.node.path} federates with ${domain.trustDomain} and ${where}: ${rule}. Fix: ${fix}.`];
  }));
}

function orderProblem(construct: IConstruct, chart: Chart, before: Chart, why: string): string {
  const where = chart === before ? `is in the same chart as ${before.node.path}` : `is in chart ${chart.node.path}, which does not come after ${before.node.path}`;
  return `${construct.node.path} ${where}: ${why}. Fix: move it to a chart of its own and call ${chart === before ? 'thatChart' : chart.node.id}.addDependency(${before.node.id}), or compose the stages with SpireIstioMesh.`;
}

/**
 * The app's API objects and charts, read in one walk of the tree: which chart
 * holds each construct, and which charts come after which (from chart
 * dependencies and dependencies between constructs of different charts).
 */
class ChartTree {
  public readonly apiObjects: ApiObject[] = [];
  private readonly charts = new Map<IConstruct, Chart>();
  private readonly edges = new Map<Chart, Set<Chart>>();
  private readonly closures = new Map<Chart, Set<Chart>>();

  constructor(root: IConstruct) {
    const dependents: IConstruct[] = [];
    const visit = (construct: IConstruct, enclosing: Chart | undefined) => {
      const chart = Chart.isChart(construct) ? construct : enclosing;
      if (chart) this.charts.set(construct, chart);
      if (construct instanceof ApiObject) this.apiObjects.push(construct);
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
