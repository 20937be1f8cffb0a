import * as fs from 'fs';
import * as path from 'path';
import { describe, ISTIOD_HELM_VALUES, KubeObject, loadInput, ManifestObject } from './manifests';
import { code, listText, section, table } from './markdown';
import { buildModel, MeshModel } from './model';
import { authorizations, ingressRoutes } from './wiring-access';
import { wiringDiagram } from './wiring-diagram';
import { federationLinks, selectorTerms, workloadIdentities } from './wiring-identities';
import { configSettings, containerImages, ContainerImage, sidecarModeName, sidecarModes, SidecarModeDecision } from './wiring-settings';
import { injectionTemplates, proxyPlacement, socketStages } from './wiring-sockets';

/** The file name of the report next to the manifests. */
export const WIRING_REPORT_FILE = 'WIRING.md';

/**
 * The wiring report of the manifests under the paths. Files are named
 * relative to the directory when the one path is a directory, so the report
 * of a synth output reads the same wherever that output lies.
 */
export function wiringReportOf(paths: string[], istiodValuesFiles: string[] = []): string {
  return wiringReport(loadRelative(paths, istiodValuesFiles));
}

/** The input under the paths, with file names relative to the one directory when that is what the paths are. */
function loadRelative(paths: string[], istiodValuesFiles: string[] = []): ManifestObject[] {
  const objects = loadInput(paths, istiodValuesFiles);
  const [only] = paths;
  if (paths.length !== 1 || !fs.statSync(only).isDirectory()) return objects;
  return objects.map((object) => ({ ...object, file: path.relative(only, object.file) }));
}

/**
 * A Markdown report of how SPIRE and Istio are wired in a set of manifests,
 * read off the objects themselves: trust domain and cluster per config, the
 * sidecar mode, the socket's way from the agent to istio-proxy, the injection
 * templates, the ClusterSPIFFEIDs, the ID each SPIRE-enabled workload gets,
 * the images, the routes in from outside, who may call whom, and the files in
 * apply order, with one diagram of it all.
 */
export function wiringReport(objects: ManifestObject[]): string {
  const model = buildModel(objects);
  const settings = configSettings(model);
  const workloads = workloadIdentities(model);
  const where = (source: ManifestObject) => `${describe(source.doc)} (${source.file})`;
  return [
    '# SPIRE and Istio wiring',
    '',
    'Generated from the manifests by cdk8s-spire-istio; a change to a cluster name, a socket path, a template, an image, a selector, an ID or a principal changes a line here (`cdk8s-spire-istio diff` lists them between two outputs).',
    '',
    ...section('Trust domain and cluster', table(['config', 'trust domain', 'cluster', 'read from'], settings.map((setting) => [
      setting.component, code(setting.trustDomain), setting.clusters ? clusterText(setting.component, setting.clusters) : 'n/a', where(setting.source),
    ]))),
    ...section('Sidecar mode', table(['applies to', 'istio-proxy', 'set by'], sidecarModes(model).map(sidecarModeRow))),
    ...section('Workload API socket, from the agent to istio-proxy', table(['hop', 'where'], socketStages(model).flat().map((hop) => [hop.what, hop.where]))),
    ...section('Injection templates', table(['template', 'Istio install source', 'CSI driver', 'istio-proxy mounts it at', 'istio-proxy in'], injectionTemplates(model).map((template) => [
      template.name, describe(template.istio.source.doc), code(template.driver),
      template.mountPath ? `${code(template.mountPath)}${template.readOnly ? ', read-only' : ', writable'}` : 'not mounted', proxyPlacement(template),
    ]))),
    ...section('ClusterSPIFFEIDs', table(['name', 'pods', 'namespaces', 'SPIFFE ID template'], model.clusterSpiffeIds.map(({ value }) => [
      value.metadata?.name ?? '', selectorText(value.spec?.podSelector), selectorText(value.spec?.namespaceSelector), code(value.spec?.spiffeIDTemplate ?? ''),
    ]))),
    ...federationSection(model),
    ...section('SPIRE-enabled workloads', table(['workload', 'namespace', 'service account', 'ClusterSPIFFEID', 'SPIFFE ID'], workloads.map((entry) => [
      entry.workload, entry.pod.namespace, entry.serviceAccount, listText(entry.identities), listText(entry.spiffeIds),
    ]))),
    ...section('Images', table(['workload', 'container', 'image', 'version'], containerImages(model).map(imageRow))),
    ...section('Routes from outside the mesh', table(['hosts', 'Gateway', 'gateway pods', 'destination'], routeRows(objects))),
    ...section('Who may call whom', table(['AuthorizationPolicy', 'guards', 'action', 'principals (the pods that get the ID)', 'mTLS there'], authorizationRows(model))),
    ...section('Apply order', applyOrder(objects)),
    ...section('Diagram', wiringDiagram(objects, model, settings, workloads)),
  ].join('\n');
}

function clusterText(component: string, clusters: { names: string[]; field: string }): string {
  const names = listText(clusters.names.map(code));
  return `${component === 'SPIRE server' ? `attests ${names}` : names} (${clusters.field})`;
}

function sidecarModeRow(mode: SidecarModeDecision): string[] {
  const container = mode.native ? 'init container' : 'container';
  const setBy = !mode.setting ? 'Istio\'s default since 1.27'
    : mode.byAnnotation ? `its ${code(mode.setting.name)} annotation: "${mode.setting.value}"` : `${code(mode.setting.name)}: "${mode.setting.value}"`;
  return [mode.appliesTo, `${sidecarModeName(mode)} (${container})`, setBy];
}

function imageRow(image: ContainerImage): string[] {
  const repository = image.repository.startsWith('not set') ? image.repository : code(image.repository);
  return [image.workload, image.container, repository, image.version];
}

function selectorText(selector: Parameters<typeof selectorTerms>[0]): string {
  const terms = selectorTerms(selector);
  return terms.length === 0 ? 'all' : terms.map(code).join(', ');
}

function federationSection(model: MeshModel): string[] {
  const links = federationLinks(model);
  if (links.length === 0) return [];
  return section('Federation', [
    ...table(['what', 'of', 'value', 'read from'], links.map((link) => [
      link.what, link.subject, listText(link.values.map(code)), `${describe(link.source.doc)} (${link.source.file})`,
    ])),
    '',
    'Istio accepts the partners\' peers on every workload (meshConfig.caCertificates is mesh-wide); only pods whose ClusterSPIFFEID federates hold their bundles, and ALLOW policies decide which of their workloads get in.',
  ]);
}

function routeRows(objects: ManifestObject[]): string[][] {
  return ingressRoutes(objects).map((route) => {
    const ports = (route.gateway?.spec?.servers ?? []).map((server: any) => `${server.port?.number} ${server.port?.protocol}`);
    return [
      listText(route.hosts),
      route.gateway ? `${route.gatewayReference} (${ports.join(', ')})` : `${route.gatewayReference} (not in the input)`,
      route.gateway ? selectorText({ matchLabels: route.gateway.spec?.selector }) : 'unknown',
      listText(route.destinations),
    ];
  });
}

function authorizationRows(model: MeshModel): string[][] {
  return authorizations(model).map((policy) => {
    const callers = policy.principals.map(({ principal, pods }) =>
      `${principal} (${pods.length === 0 ? 'no pod in the input' : pods.map((pod) => describe(pod.source.doc)).join(', ')})`);
    return [policy.policy.replace(/^AuthorizationPolicy /, ''), listText(policy.guarded.map((pod) => describe(pod.source.doc))), policy.action, listText(callers), policy.mtls];
  });
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
