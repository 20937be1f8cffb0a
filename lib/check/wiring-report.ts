import * as fs from 'fs';
import * as path from 'path';
import { LabelSelectorSpec } from '../kube/label-selector';
import { ISTIO_DEFAULT_ROOT_NAMESPACE } from '../istio/names';
import { selectorMatches } from '../kube/label-selector';
import { describe, ISTIOD_HELM_VALUES, KubeObject, loadInput, ManifestObject } from './manifests';
import { buildModel, hostPathMountedAt, MeshModel, PodTemplate } from './model';
import { agentSocketMount, identitiesSelecting, podsWithPrincipal, principalsOf, spiffeIdsOf, spireEnabledPods, spireTemplateNames } from './rules';

/** The file name of the report next to the manifests. */
export const WIRING_REPORT_FILE = 'WIRING.md';

const PROXY = 'istio-proxy';

/** One workload's identity as the controller manager will register it. */
interface WorkloadIdentity {
  readonly workload: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly identities: string[];
  readonly spiffeIds: string[];
}

/** One hop of the Workload API socket, from the agent to istio-proxy. */
interface SocketHop {
  readonly what: string;
  readonly where: string;
}

/**
 * The wiring report of the manifests under the paths. Files are named
 * relative to the directory when the one path is a directory, so the report
 * of a synth output reads the same wherever that output lies.
 */
export function wiringReportOf(paths: string[], istiodValuesFiles: string[] = []): string {
  const objects = loadInput(paths, istiodValuesFiles);
  const [only] = paths;
  if (paths.length !== 1 || !fs.statSync(only).isDirectory()) return wiringReport(objects);
  return wiringReport(objects.map((object) => ({ ...object, file: path.relative(only, object.file) })));
}

/**
 * A Markdown report of how SPIRE and Istio are wired in a set of manifests,
 * read off the objects themselves: trust domain and cluster, the socket's
 * way from the agent to istio-proxy, the ClusterSPIFFEIDs, the ID each
 * SPIRE-enabled workload gets, the routes in from outside, who may call
 * whom, and the files in apply order.
 */
export function wiringReport(objects: ManifestObject[]): string {
  const model = buildModel(objects);
  const stages = socketStages(model);
  const workloads = workloadIdentities(model);
  return [
    '# SPIRE and Istio wiring',
    '',
    'Generated from the manifests by cdk8s-spire-istio; a change to a socket path, a selector or an ID changes a line here.',
    '',
    ...section('Trust domain and cluster', table(['setting', 'value', 'read from'], settingRows(model))),
    ...section('Workload API socket, from the agent to istio-proxy', table(['hop', 'where'], stages.flat().map((hop) => [hop.what, hop.where]))),
    ...section('ClusterSPIFFEIDs', table(['name', 'pods', 'namespaces', 'SPIFFE ID template'], model.clusterSpiffeIds.map(({ value }) => [
      value.metadata?.name ?? '', selectorText(value.spec?.podSelector), selectorText(value.spec?.namespaceSelector), code(value.spec?.spiffeIDTemplate ?? ''),
    ]))),
    ...federationSection(model),
    ...section('SPIRE-enabled workloads', table(['workload', 'namespace', 'service account', 'ClusterSPIFFEID', 'SPIFFE ID'], workloads.map((entry) => [
      entry.workload, entry.namespace, entry.serviceAccount, listText(entry.identities), listText(entry.spiffeIds),
    ]))),
    ...section('Routes from outside the mesh', table(['hosts', 'Gateway', 'gateway pods', 'destination'], ingressRoutes(objects))),
    ...section('Who may call whom', table(['AuthorizationPolicy', 'guards', 'action', 'principals (the pods that get the ID)', 'mTLS there'], authorizationRows(model))),
    ...section('Apply order', applyOrder(objects)),
    ...section('Diagram', diagram(stages, model, workloads)),
  ].join('\n');
}

function section(title: string, lines: string[]): string[] {
  return [`## ${title}`, '', ...(lines.length > 0 ? lines : ['none in the input']), ''];
}

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

function code(text: string): string {
  return `\`${text}\``;
}

function listText(values: string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/**
 * Federation, when the input has any: the bundle endpoint the server serves,
 * the partners it fetches from, and what agent and Istio do with their bundles.
 */
function federationSection(model: MeshModel): string[] {
  const endpoints = model.servers.filter((server) => server.value.server?.federation?.bundle_endpoint);
  if (endpoints.length === 0 && model.clusterFederatedTrustDomains.length === 0) return [];
  const where = (source: ManifestObject) => `${describe(source.doc)} (${source.file})`;
  const rows = [
    ...endpoints.map((server) => {
      const endpoint = server.value.server.federation.bundle_endpoint;
      return ['bundle endpoint served', `${code(`${endpoint.address}:${endpoint.port}`)}, ${listText(Object.keys(endpoint.profile ?? {}))}`, where(server.source)];
    }),
    ...model.clusterFederatedTrustDomains.flatMap(({ value, source }) => {
      const profile = value.spec?.bundleEndpointProfile ?? {};
      const id = profile.endpointSPIFFEID ? ` as ${code(profile.endpointSPIFFEID)}` : '';
      const trustDomain = String(value.spec?.trustDomain);
      return [
        [`partner ${code(trustDomain)}`, `${code(String(value.spec?.bundleEndpointURL))}, ${profile.type}${id}`, where(source)],
        [`bundle of ${code(trustDomain)} before the first fetch`, initialBundleText(model, value), where(source)],
      ];
    }),
    ...model.clusterSpiffeIds.filter(({ value }) => (value.spec?.federatesWith ?? []).length > 0).map(({ value, source }) => [
      'partner bundles reach only the pods of', `ClusterSPIFFEID ${value.metadata?.name}: ${listText((value.spec.federatesWith as string[]).map(code))}`, where(source),
    ]),
    ...model.agents.map((agent) => {
      const sds = agent.value.agent?.sds ?? {};
      return ['SDS validation context with all bundles', code(String(sds.default_all_bundles_name ?? 'ALL')), `SPIRE agent config in ${where(agent.source)}`];
    }),
    ...model.istioSources.map((istio) => ['peer trust domains istiod accepts besides its own, mesh-wide', listText(istio.acceptedTrustDomains.map(code)), where(istio.source)]),
  ];
  return section('Federation', [
    ...table(['what', 'value', 'read from'], rows),
    '',
    'Istio accepts the partners\' peers on every workload (meshConfig.caCertificates is mesh-wide); only pods whose ClusterSPIFFEID federates hold their bundles, and ALLOW policies decide which of their workloads get in.',
  ]);
}

/** Whether the declaration carries the partner's bundle, or which file must wait until it is set by hand. */
function initialBundleText(model: MeshModel, domain: KubeObject): string {
  if (domain.spec?.trustDomainBundle) return 'in `trustDomainBundle`';
  const federating = model.clusterSpiffeIds.filter(({ value }) => (value.spec?.federatesWith ?? []).includes(domain.spec?.trustDomain));
  const files = [...new Set(federating.map(({ source }) => source.file))];
  return `set by hand (\`spire-server bundle set\`)${files.length === 0 ? '' : ` before ${listText(files.map(code))}`}`;
}

function settingRows(model: MeshModel): string[][] {
  const where = (source: ManifestObject) => `${describe(source.doc)} (${source.file})`;
  return [
    ...model.servers.map((server) => ['trust domain', code(String(server.value.server?.trust_domain)), `SPIRE server config in ${where(server.source)}`]),
    ...model.agents.map((agent) => ['trust domain', code(String(agent.value.agent?.trust_domain)), `SPIRE agent config in ${where(agent.source)}`]),
    ...model.controllerManagers.map((manager) => ['trust domain', code(String(manager.value.trustDomain)), `controller manager config in ${where(manager.source)}`]),
    ...model.istioSources.map((istio) => ['trust domain', code(istio.trustDomain), where(istio.source)]),
    ...model.controllerManagers.map((manager) => ['cluster', code(String(manager.value.clusterName)), `controller manager config in ${where(manager.source)}`]),
  ];
}

/** The socket's way in stages: agent and its node directory, CSI driver, istio-proxy. */
function socketStages(model: MeshModel): SocketHop[][] {
  const agents = model.agents.flatMap((agent) => {
    const socketPath = String(agent.value.agent?.socket_path ?? '');
    const nodeDir = agentSocketMount(agent, path.posix.dirname(socketPath)).hostPath;
    const owner = agent.pod ? describe(agent.pod.source.doc) : describe(agent.source.doc);
    const inNodeDir = nodeDir === undefined ? 'not in a hostPath directory' : `in node directory ${code(nodeDir)}`;
    return [{ what: `SPIRE agent serves its socket (${owner})`, where: `${code(socketPath)}, ${inNodeDir}` }];
  });
  const drivers = model.csiDrivers.map((driver) => {
    const nodeDir = hostPathMountedAt(driver.pod, driver.container, driver.servedDir).hostPath;
    return {
      what: `CSI driver ${listText(model.csiDriverNames)} serves (${describe(driver.pod.source.doc)})`,
      where: `${code(nodeDir ?? 'not a hostPath')} as ${code(driver.servedDir)}`,
    };
  });
  return [agents, drivers, proxyReads(model)].filter((stage) => stage.length > 0);
}

/** Where istio-proxy looks for the socket, for each Istio source and SPIRE template. */
function proxyReads(model: MeshModel): SocketHop[] {
  const spireTemplates = spireTemplateNames(model);
  return model.istioSources.flatMap((istio) => Object.entries(istio.templates)
    .filter(([name]) => spireTemplates.has(name))
    .flatMap(([name, template]) => {
      const render = template.native ?? template.classic;
      const volume = (render?.spec?.volumes ?? []).find((candidate: any) => candidate.csi);
      const proxies = [...(render?.spec?.containers ?? []), ...(render?.spec?.initContainers ?? [])].filter((container: any) => container.name === PROXY);
      const mount = proxies.flatMap((proxy: any) => proxy.volumeMounts ?? []).find((candidate: any) => candidate.name === volume?.name);
      const where = mount ? code(`${mount.mountPath}/${istio.socketFileName}`) : 'not mounted';
      return [{ what: `istio-proxy reads, template "${name}" of ${describe(istio.source.doc)}`, where }];
    }));
}

function selectorText(selector: LabelSelectorSpec | undefined): string {
  const labels = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  const expressions = (selector?.matchExpressions ?? []).map((requirement) =>
    [requirement.key, requirement.operator, requirement.values?.length ? `(${requirement.values.join(', ')})` : ''].filter(Boolean).join(' '));
  const terms = [...labels, ...expressions];
  return terms.length === 0 ? 'all' : terms.map(code).join(', ');
}

function workloadIdentities(model: MeshModel): WorkloadIdentity[] {
  return spireEnabledPods(model).map((pod: PodTemplate) => ({
    workload: describe(pod.source.doc),
    namespace: pod.namespace,
    serviceAccount: pod.spec.serviceAccountName ?? 'default',
    identities: identitiesSelecting(model, pod).map(({ value }) => value.metadata?.name ?? ''),
    spiffeIds: spiffeIdsOf(model, pod),
  }));
}

/** Each AuthorizationPolicy: the SPIRE-enabled pods it guards, what it does, whom its principals name, and the mTLS mode there. */
function authorizationRows(model: MeshModel): string[][] {
  return model.authorizationPolicies.map(({ value }) => {
    const namespace = value.metadata?.namespace ?? 'default';
    const guarded = spireEnabledPods(model).filter((pod) => pod.namespace === namespace && selectorMatches(value.spec?.selector, pod.metadata.labels ?? {}));
    const callers = principalsOf(value).map((principal) => {
      const pods = podsWithPrincipal(model, principal).map((pod) => describe(pod.source.doc));
      return `${principal} (${pods.length === 0 ? 'no pod in the input' : pods.join(', ')})`;
    });
    return [`${namespace}/${value.metadata?.name}`, listText(guarded.map((pod) => describe(pod.source.doc))), String(value.spec?.action ?? 'ALLOW'), listText(callers), mtlsModeIn(model, namespace)];
  });
}

/** The namespace-wide mTLS mode a namespace gets: its own PeerAuthentication without selector, else the mesh-wide one. */
function mtlsModeIn(model: MeshModel, namespace: string): string {
  const rootNamespace = String(model.istioSources[0]?.value.spec?.meshConfig?.rootNamespace ?? ISTIO_DEFAULT_ROOT_NAMESPACE);
  const wide = model.peerAuthentications.filter(({ value }) => value.spec?.selector === undefined);
  const inNamespace = (name: string) => wide.find(({ value }) => (value.metadata?.namespace ?? 'default') === name);
  const policy = inNamespace(namespace) ?? inNamespace(rootNamespace);
  if (!policy) return 'not set (Istio\'s default, PERMISSIVE)';
  return `${policy.value.spec?.mtls?.mode ?? 'UNSET'} (PeerAuthentication ${policy.value.metadata?.namespace}/${policy.value.metadata?.name})`;
}

/** Each VirtualService bound to a Gateway: its hosts, the Gateway and the pods it selects, where requests go. */
function ingressRoutes(objects: ManifestObject[]): string[][] {
  const istio = objects.map(({ doc }) => doc).filter((doc) => String(doc.apiVersion).startsWith('networking.istio.io/'));
  const qualified = (namespace: string | undefined, name: string) => (name.includes('/') ? name : `${namespace ?? 'default'}/${name}`);
  const gateways = new Map(istio.filter((doc) => doc.kind === 'Gateway').map((doc) => [qualified(doc.metadata?.namespace, doc.metadata?.name ?? ''), doc]));
  return istio.filter((doc) => doc.kind === 'VirtualService').flatMap((route) => (route.spec?.gateways ?? [])
    .filter((reference: string) => reference !== 'mesh')
    .map((reference: string) => {
      const gateway = gateways.get(qualified(route.metadata?.namespace, reference));
      const ports = (gateway?.spec?.servers ?? []).map((server: any) => `${server.port?.number} ${server.port?.protocol}`);
      return [
        listText(route.spec?.hosts ?? []),
        gateway ? `${reference} (${ports.join(', ')})` : `${reference} (not in the input)`,
        gateway ? selectorText({ matchLabels: gateway.spec?.selector }) : 'unknown',
        listText(routeDestinations(route)),
      ];
    }));
}

function routeDestinations(route: KubeObject): string[] {
  return (route.spec?.http ?? []).flatMap((http: any) => (http.route ?? []).map(({ destination }: any) => `${destination?.host}:${destination?.port?.number ?? 'any'}`));
}

function applyOrder(objects: ManifestObject[]): string[] {
  const files = [...new Set(objects.map(({ file }) => file))];
  return files.map((file, index) => {
    const docs = objects.filter((object) => object.file === file).map(({ doc }) => doc);
    if (docs.every((doc) => doc.kind === ISTIOD_HELM_VALUES)) return `- ${code(file)}: istiod Helm values, for installing istiod with Helm instead of the IstioOperator`;
    return `${index + 1}. ${code(file)}: ${kindCounts(docs)}`;
  });
}

function kindCounts(docs: KubeObject[]): string {
  const counts = new Map<string, number>();
  for (const doc of docs) counts.set(String(doc.kind), (counts.get(String(doc.kind)) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
}

function mermaidText(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`;
}

function diagram(stages: SocketHop[][], model: MeshModel, workloads: WorkloadIdentity[]): string[] {
  const hopIds = stages.map((stage, stageIndex) => stage.map((_, index) => `hop${stageIndex}_${index}`));
  const hopNodes = stages.flatMap((stage, stageIndex) => stage.map((hop, index) =>
    `  ${hopIds[stageIndex][index]}[${mermaidText(`${hop.what}<br/>${hop.where.replace(/`/g, '')}`)}]`));
  const hopEdges = hopIds.slice(1).flatMap((stage, index) => hopIds[index].flatMap((from) => stage.map((to) => `  ${from} --> ${to}`)));
  const identityIds = new Map(model.clusterSpiffeIds.map(({ value }, index) => [value.metadata?.name ?? '', `id${index}`]));
  const identityNodes = [...identityIds].map(([name, id]) => `  ${id}[/${mermaidText(`ClusterSPIFFEID ${name}`)}/]`);
  const workloadNodes = workloads.map((entry, index) => `  w${index}[${mermaidText(`${entry.workload}<br/>${entry.spiffeIds.join('<br/>')}`)}]`);
  const workloadEdges = workloads.flatMap((entry, index) => entry.identities.map((name) => `  ${identityIds.get(name)} -->|selects| w${index}`));
  return ['```mermaid', 'flowchart LR', ...hopNodes, ...identityNodes, ...workloadNodes, ...hopEdges, ...workloadEdges, '```'];
}
