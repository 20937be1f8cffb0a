import * as path from 'path';
import * as YAML from 'yaml';
import { NATIVE_SIDECAR_ANNOTATION } from '../istio/injection-template';
import {
  INJECT_TEMPLATES_ANNOTATION, injectionEnabled, ISTIO_INJECTION_LABEL, ISTIO_ROOT_CA_RESOURCE, ISTIO_SVID_RESOURCE, ISTIO_WORKLOAD_SOCKET_DIRS, PROXY_CONFIG_ANNOTATION, SIDECAR_INJECT_LABEL,
} from '../istio/names';
import { selectorMatches } from '../kube/label-selector';
import { checkSpiffeIdTemplate, renderTemplate, yieldsIstioIdPath } from '../spire/spiffe-id-template';
import { describe, KubeObject, ManifestObject } from './manifests';
import { AgentModel, buildModel, CsiNodePlugin, hostPathMountedAt, InjectionTemplate, IstioModel, Located, MeshModel, parseOrUndefined, PodTemplate } from './model';
import { SPIRE_MANAGED_IDENTITY_LABEL } from '../spire/labels';
import { SPIRE_SDS_DEFAULTS } from '../spire/sds';
import { DEFAULT_PCA_TEMPLATE_ARN, templatePathLength } from '../config/upstream-authority';
import { handlesClass, reconcileKeyOf, unreconciledResources } from '../config/controller-manager-config';
import { ONLY_PARTNER_SERVER_ENDPOINTS } from '../validation/rules';

/** One wiring mistake: where it is, what is wrong and how to fix it. */
export interface Finding {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly object: string;
  readonly message: string;
  readonly fix: string;
}

type Rule = (model: MeshModel) => Finding[];

/** What a rule reads; without it in the input the rule has nothing to check. */
export type RuleInput = 'SPIRE server config' | 'SPIRE agent config' | 'SPIRE Controller Manager config' | 'SPIFFE CSI driver'
  | 'Istio install source (IstioOperator or istiod Helm values)' | 'ClusterSPIFFEID' | 'ClusterSPIFFEID or ClusterStaticEntry' | 'SPIRE-enabled pod' | 'Service';

interface RuleEntry {
  /** What the rule makes sure of, as the report names it when it could not run. */
  readonly name: string;
  readonly needs: RuleInput[];
  readonly check: Rule;
}

/** A rule that could not run, and what it lacked. */
export interface RuleNotRun {
  readonly name: string;
  readonly missing: RuleInput[];
}

/** Findings, with the model they were read from and the rules the input left without anything to check. */
export interface CheckReport {
  readonly model: MeshModel;
  readonly findings: Finding[];
  readonly notRun: RuleNotRun[];
}

const PROXY = 'istio-proxy';

function finding(source: ManifestObject, message: string, fix: string, severity: Finding['severity'] = 'error'): Finding {
  return { severity, file: source.file, object: describe(source.doc), message, fix };
}

/** Runs every wiring rule over a set of manifests. */
export function checkManifests(objects: ManifestObject[]): Finding[] {
  return checkInput(objects).findings;
}

/** Runs every wiring rule and says which of them the input gave nothing to check. */
export function checkInput(objects: ManifestObject[]): CheckReport {
  const model = buildModel(objects);
  const present = presentInputs(model);
  return {
    model,
    findings: RULES.flatMap((rule) => rule.check(model)),
    notRun: RULES.map((rule) => ({ name: rule.name, missing: rule.needs.filter((input) => !present.has(input)) }))
      .filter((rule) => rule.missing.length > 0),
  };
}

function presentInputs(model: MeshModel): Set<RuleInput> {
  const counts: Record<RuleInput, number> = {
    'SPIRE server config': model.servers.length,
    'SPIRE agent config': model.agents.length,
    'SPIRE Controller Manager config': model.controllerManagers.length,
    'SPIFFE CSI driver': model.csiDrivers.length,
    'Istio install source (IstioOperator or istiod Helm values)': model.istioSources.length,
    'ClusterSPIFFEID': model.clusterSpiffeIds.length,
    'ClusterSPIFFEID or ClusterStaticEntry': registrations(model).length,
    'SPIRE-enabled pod': spireEnabledPods(model).length,
    'Service': model.services.length,
  };
  return new Set((Object.keys(counts) as RuleInput[]).filter((input) => counts[input] > 0));
}

/**
 * The CSI driver must serve the directory the agent's socket is in. A driver
 * container in the agent's own pod may share any volume with it, an emptyDir
 * too (spiffe-csi's example): it bind-mounts from inside that pod. A driver in
 * another pod reaches the socket only through the same node directory.
 */
const agentSocketSharedWithCsiDriver: Rule = (model) => model.agents.flatMap((agent) => {
  const socketDir = path.posix.dirname(agent.value.agent?.socket_path ?? '');
  const mount = agentSocketMount(agent, socketDir);
  return model.csiDrivers.flatMap((driver) => {
    const served = hostPathMountedAt(driver.pod, driver.container, driver.servedDir);
    if (csiDriverServesAgentSocket(agent, driver)) return [];
    if (mount.hostPath === undefined && driver.pod !== agent.pod) {
      return [finding(agent.source, `the agent serves its socket in ${socketDir}, which is not a hostPath volume of the agent's pod, so the CSI driver of ${describe(driver.pod.source.doc)}, another pod, cannot reach it`,
        'mount one hostPath directory there and at the driver\'s -workload-api-socket-dir, or run the driver as a container of the agent\'s pod sharing the volume: an emptyDir is private to its pod')];
    }
    const socketPlace = mount.hostPath !== undefined ? `node directory ${mount.hostPath}` : `volume ${mount.volume?.name ?? '(none)'} of the agent's pod`;
    return [finding(driver.pod.source,
      `the CSI driver serves ${served.hostPath ?? `${driver.servedDir} (not a hostPath)`} but the agent's socket is in ${socketPlace}`,
      `mount the ${socketPlace} at the driver's -workload-api-socket-dir ${driver.servedDir}`)];
  });
});

/** Whether the CSI driver serves the directory the agent's socket is in: the same volume of one pod, or the same node directory. */
export function csiDriverServesAgentSocket(agent: AgentModel, driver: CsiNodePlugin): boolean {
  const mount = agentSocketMount(agent, path.posix.dirname(agent.value.agent?.socket_path ?? ''));
  const served = hostPathMountedAt(driver.pod, driver.container, driver.servedDir);
  const samePodVolume = driver.pod === agent.pod && mount.volume !== undefined && served.volume?.name === mount.volume.name;
  return samePodVolume || (mount.hostPath !== undefined && served.hostPath === mount.hostPath);
}

/** The volume the agent's container serves its socket directory from, and its node directory when it is a hostPath. */
export function agentSocketMount(agent: AgentModel, socketDir: string): { volume?: any; hostPath?: string } {
  return agent.pod && agent.container ? hostPathMountedAt(agent.pod, agent.container, socketDir) : {};
}

/** Every SPIRE config, the controller manager and Istio must name one trust domain. */
const oneTrustDomain: Rule = (model) => {
  const claims: Array<Located<string>> = [
    ...model.servers.map((server) => ({ value: String(server.value.server?.trust_domain), source: server.source })),
    ...model.agents.map((agent) => ({ value: String(agent.value.agent?.trust_domain), source: agent.source })),
    ...model.controllerManagers.map((manager) => ({ value: String(manager.value.trustDomain), source: manager.source })),
    ...model.istioSources.map((istio) => ({ value: istio.trustDomain, source: istio.source })),
  ];
  return disagreements(claims, 'trust domain', 'set the same trust domain everywhere (SPIRE server and agent `trust_domain`, controller manager `trustDomain`, Istio `meshConfig.trustDomain`)');
};

/** Server, agent and controller manager must name one cluster. */
const oneClusterName: Rule = (model) => {
  const claims: Array<Located<string>> = [
    ...model.agents.map((agent) => ({ value: String(pluginData(agent.value, 'NodeAttestor', 'k8s_psat')?.cluster), source: agent.source })),
    ...model.controllerManagers.map((manager) => ({ value: String(manager.value.clusterName), source: manager.source })),
  ];
  const serverFindings = model.servers.flatMap((server) => {
    const clusters = Object.keys(clustersOf(pluginData(server.value, 'NodeAttestor', 'k8s_psat')));
    return claims.filter((claim) => !clusters.includes(claim.value)).map((claim) => finding(claim.source,
      `cluster "${claim.value}" is not among the clusters the server's k8s_psat attests (${clusters.join(', ') || 'none'})`,
      'use one cluster name in the server\'s k8s_psat `clusters`, the agent\'s k8s_psat `cluster` and the controller manager\'s `clusterName`'));
  });
  return [...serverFindings, ...disagreements(claims, 'cluster name', 'use one cluster name in agent and controller manager')];
};

function disagreements(claims: Array<Located<string>>, what: string, fix: string): Finding[] {
  const expected = claims[0]?.value;
  return claims.filter((claim) => claim.value !== expected)
    .map((claim) => finding(claim.source, `${what} "${claim.value}" differs from "${expected}" in ${describe(claims[0].source.doc)}`, fix));
}

/** Plugin data of a named plugin; SPIRE's JSON form nests each plugin in a list of one-key objects. */
export function pluginData(config: any, type: string, name: string): any {
  const section = config?.plugins?.[type];
  const entries: any[] = Array.isArray(section) ? section : [section];
  return entries.find((entry) => entry?.[name])?.[name]?.plugin_data;
}

export function clustersOf(data: any): Record<string, any> {
  const clusters = data?.clusters ?? {};
  return Array.isArray(clusters) ? Object.assign({}, ...clusters) : clusters;
}

/** The agent must dial a Service that exists, on a port it exposes. */
const agentReachesServer: Rule = (model) => model.agents.flatMap((agent) => {
  const address = String(agent.value.agent?.server_address ?? '');
  const port = Number(agent.value.agent?.server_port);
  const [name, namespace = agent.source.doc.metadata?.namespace] = address.split('.');
  const service = model.services.find(({ value }) => value.metadata?.name === name && (value.metadata?.namespace ?? 'default') === namespace);
  if (!service) {
    return model.services.length === 0 ? [] : [finding(agent.source, `server_address ${address} names no Service in the input`,
      'point server_address at the SPIRE server Service as <name>.<namespace>.svc', 'warning')];
  }
  const ports = (service.value.spec?.ports ?? []).map((servicePort: any) => Number(servicePort.port));
  return ports.includes(port) ? [] : [finding(agent.source, `server_port ${port} is not a port of ${describe(service.value)} (${ports.join(', ')})`,
    `set server_port to the Service's port`)];
});

/** The agent must read the bundle the server publishes, in the format it publishes. */
const agentReadsPublishedBundle: Rule = (model) => model.agents.flatMap((agent) => model.servers.flatMap((server) => {
  const targets = Object.values(clustersOf(pluginData(server.value, 'BundlePublisher', 'k8s_configmap')));
  if (targets.length === 0 || !agent.pod) return [];
  const bundlePath = String(agent.value.agent?.trust_bundle_path ?? '');
  const format = agent.value.agent?.trust_bundle_format ?? 'pem';
  const reads = targets.some((target: any) => target.format === format && path.posix.basename(bundlePath) === target.configmap_key
    && (agent.pod?.spec.volumes ?? []).some((volume: any) => volume.configMap?.name === target.configmap_name)
    && target.namespace === agent.pod?.namespace);
  return reads ? [] : [finding(agent.source,
    `the agent reads ${bundlePath} (${format}) but the server publishes ${targets.map((target: any) => `${target.namespace}/${target.configmap_name}[${target.configmap_key}] (${target.format})`).join(', ')}`,
    'mount the published ConfigMap in the agent pod and point trust_bundle_path and trust_bundle_format at its key and format')];
}));

/**
 * Each injection template that mounts a CSI volume into istio-proxy must mount
 * SPIRE's, where the proxy reads it, whatever the pod's sidecar mode.
 */
const istioTemplatesMountAgentSocket: Rule = (model) => model.istioSources.flatMap((istio) =>
  Object.entries(istio.templates).flatMap(([name, template]) => {
    const renders = [template.native, template.classic];
    if (renders.some((render) => render === undefined)) {
      return [finding(istio.source, `injection template "${name}" holds Go template logic the checker cannot evaluate, so it was not checked`,
        'check it by injecting a pod with istioctl kube-inject', 'warning')];
    }
    const findings = renders.flatMap((render) => (render.spec?.volumes ?? [])
      .filter((volume: any) => volume.csi)
      .flatMap((volume: any) => templateFindings(model, istio, name, render, volume)));
    return [...uniqueFindings(findings), ...proxyPlacementFindings(model, istio, name, template)];
  }));

function uniqueFindings(findings: Finding[]): Finding[] {
  return [...new Map(findings.map((item) => [JSON.stringify(item), item])).values()];
}

function templateFindings(model: MeshModel, istio: IstioModel, name: string, template: any, volume: any): Finding[] {
  const findings: Finding[] = [];
  const report = (message: string, fix: string) => findings.push(finding(istio.source, `injection template "${name}": ${message}`, fix));
  const drivers = model.csiDriverNames.length > 0 ? model.csiDriverNames : ['csi.spiffe.io'];
  if (!drivers.includes(volume.csi.driver)) report(`volume ${volume.name} uses CSI driver "${volume.csi.driver}", not ${drivers.join(', ')}`, `set csi.driver to "${drivers[0]}"`);
  if (volume.csi.readOnly !== true) report(`CSI volume ${volume.name} is not read-only; the SPIFFE CSI driver refuses writable volumes`, 'set csi.readOnly: true');
  const proxies = [...(template.spec.containers ?? []), ...(template.spec.initContainers ?? [])].filter((container: any) => container.name === PROXY);
  const mounts = proxies.flatMap((proxy: any) => (proxy.volumeMounts ?? []).filter((mount: any) => mount.name === volume.name));
  if (mounts.length === 0) report(`istio-proxy does not mount volume ${volume.name}`, `mount it in istio-proxy at ${ISTIO_WORKLOAD_SOCKET_DIRS[0]}`);
  for (const mount of mounts) {
    if (!ISTIO_WORKLOAD_SOCKET_DIRS.includes(mount.mountPath)) report(`istio-proxy mounts the SPIRE socket at ${mount.mountPath}, where it never looks`, `mount it at ${ISTIO_WORKLOAD_SOCKET_DIRS[0]}`);
    if (mount.readOnly !== true) report(`istio-proxy's mount of ${volume.name} is writable`, 'set readOnly: true on the mount');
    for (const agent of model.agents) {
      const socketPath = String(agent.value.agent?.socket_path ?? '');
      if (sameDir(path.posix.dirname(socketPath), mount.mountPath) && path.posix.basename(socketPath) === istio.socketFileName) continue;
      report(`istio-proxy looks for ${mount.mountPath}/${istio.socketFileName} but the agent serves ${socketPath}`,
        `serve the agent socket as ${ISTIO_WORKLOAD_SOCKET_DIRS[0]}/${istio.socketFileName}, or set meshConfig.defaultConfig.proxyMetadata.WORKLOAD_IDENTITY_SOCKET_FILE`);
    }
  }
  return findings;
}

/** `/var/run` is a link to `/run` in the proxy image. */
function sameDir(a: string, b: string): boolean {
  const canonical = (dir: string) => dir.replace(/^\/var\/run\//, '/run/');
  return canonical(a) === canonical(b);
}

/**
 * Under native sidecars istio-proxy is an init container of application pods;
 * gateways keep it a container. A pod's `sidecar.istio.io/nativeSidecar`
 * annotation overrides the mesh's mode for that pod; the template is checked
 * as Istio renders it for each way pods use it.
 */
function proxyPlacementFindings(model: MeshModel, istio: IstioModel, name: string, template: InjectionTemplate): Finding[] {
  const uses = new Map<string, boolean>();
  for (const pod of model.pods.filter((candidate) => templatesOf(candidate).includes(name))) {
    const native = nativeSidecarIn(istio, pod);
    if (templatesOf(pod).includes('sidecar')) uses.set(native ? 'native sidecar' : 'classic sidecar', native);
    if (templatesOf(pod).includes('gateway')) uses.set('gateway', native);
  }
  return [...uses].flatMap(([use, native]) => {
    const spec = (native ? template.native : template.classic)?.spec ?? {};
    const wrongList = use === 'native sidecar' ? 'containers' : 'initContainers';
    if (!(spec[wrongList] ?? []).some((container: any) => container.name === PROXY)) return [];
    const expected = wrongList === 'containers' ? 'initContainers' : 'containers';
    return [finding(istio.source,
      `injection template "${name}" patches istio-proxy in ${wrongList} for ${use} pods, whose istio-proxy is in ${expected}: the pod gets a second, image-less istio-proxy and is rejected`,
      use === 'gateway' ? 'give gateways a template that patches spec.containers'
        : `patch spec.${expected} for these pods, e.g. with {{ if }} on the pod's sidecar mode as Istio's own sidecar template does`)];
  });
}

/** Whether Istio injects istio-proxy into a pod as a native sidecar: the mesh's mode unless the pod's annotation says "false" or otherwise. */
export function nativeSidecarIn(istio: IstioModel, pod: PodTemplate): boolean {
  return (pod.metadata.annotations?.[NATIVE_SIDECAR_ANNOTATION] ?? String(istio.nativeSidecars)) !== 'false';
}

/**
 * Whether a pod's classic istio-proxy holds the application until it starts,
 * as Istio's injection template decides it (`$holdProxy`): the pod's
 * ProxyConfig (mesh default, overridden by its annotation) or the values'
 * global setting, and never for native sidecars, which hold with a startup probe.
 */
function holdsApplicationInPostStart(istio: IstioModel, pod: PodTemplate): boolean {
  if (nativeSidecarIn(istio, pod) || !templatesOf(pod).includes('sidecar')) return false;
  const proxyConfig = parseOrUndefined(() => YAML.parse(pod.metadata.annotations?.[PROXY_CONFIG_ANNOTATION] ?? '{}'));
  const podHold = proxyConfig?.holdApplicationUntilProxyStarts;
  return (typeof podHold === 'boolean' ? podHold : istio.holdApplicationUntilProxyStarts) || istio.holdEveryApplication;
}

/**
 * A classic istio-proxy that holds the application waits for its SVID in a
 * postStart hook, and until that hook returns the kubelet lists no status for
 * the container. The agent's `k8s` attestor then finds the pod but not the
 * container, and attests it only with container selectors disabled
 * (`disable_container_selectors`, SPIRE's answer to exactly this; Istio's
 * SPIRE sample sets it for holdApplicationUntilProxyStarts).
 */
const heldProxiesAttested: Rule = (model) => {
  const held = spireEnabledPods(model).filter((pod) => model.istioSources.some((istio) => holdsApplicationInPostStart(istio, pod)));
  if (held.length === 0) return [];
  return model.agents.filter((agent) => {
    const attestor = pluginData(agent.value, 'WorkloadAttestor', 'k8s');
    return attestor !== undefined && String(attestor.disable_container_selectors) !== 'true';
  }).map((agent) => finding(agent.source,
    `istio-proxy of ${held.map((pod) => describe(pod.source.doc)).join(', ')} is a classic sidecar that holds the application until it starts (holdApplicationUntilProxyStarts), so the agent attests it before the kubelet lists its container, which the k8s workload attestor does only with container selectors disabled: these pods never get an identity and never start`,
    'set disable_container_selectors = true in the agent\'s k8s WorkloadAttestor (SpireAgentDaemonSet: disableContainerSelectors: true), or run these pods with native sidecars'));
};

export function templatesOf(pod: PodTemplate): string[] {
  return (pod.metadata.annotations?.[INJECT_TEMPLATES_ANNOTATION] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
}

/** ClusterSPIFFEIDs must be reconciled by the controller manager and yield Istio's ID form in its trust domain. */
const clusterSpiffeIdsServeTheMesh: Rule = (model) => model.clusterSpiffeIds.flatMap(({ value, source }) => {
  const findings: Finding[] = [];
  for (const manager of model.controllerManagers) {
    const className = manager.value.className;
    if (!handlesClass(manager.value, value.spec?.className)) {
      findings.push(finding(source, `className "${value.spec?.className ?? ''}" is not the controller manager's "${className ?? ''}", so no entry is ever created`,
        `set spec.className to "${className ?? ''}"`));
    }
  }
  const trustDomain = model.controllerManagers[0]?.value.trustDomain ?? model.servers[0]?.value.server?.trust_domain;
  if (trustDomain !== undefined) {
    const problem = checkSpiffeIdTemplate(String(value.spec?.spiffeIDTemplate ?? ''), String(trustDomain), model.istioSources.length > 0);
    if (problem) findings.push(finding(source, `spiffeIDTemplate ${JSON.stringify(problem.value)}: ${problem.rule}`, problem.fix));
  }
  return findings;
});

/** A controller manager must reconcile every kind of which the input holds resources of its class. */
const classResourcesReconciled: Rule = (model) => model.controllerManagers.flatMap((manager) =>
  unreconciledResources(manager.value, [...model.clusterSpiffeIds, ...model.clusterStaticEntries, ...model.clusterFederatedTrustDomains].map(({ value }) => value))
    .map((resource) => finding(manager.source,
      `reconcile leaves ${resource.kind}s out, so ${describe(resource)} of class "${resource.spec?.className ?? ''}" never becomes SPIRE state`,
      `set reconcile.${reconcileKeyOf(resource.kind)} to true, or remove the resource`)));

/** A pod a ClusterSPIFFEID of a controller manager's class selects must be in a namespace it watches. */
const selectedPodsWatched: Rule = (model) => model.controllerManagers.flatMap((manager) => {
  const watched = manager.value.cacheNamespaces;
  if (watched === undefined || watched === null) return [];
  return model.pods.filter((pod) => !Object.prototype.hasOwnProperty.call(watched, pod.namespace))
    .filter((pod) => identitiesSelecting(model, pod).some(({ value }) => handlesClass(manager.value, value.spec?.className)))
    .map((pod) => finding(pod.source,
      `a ClusterSPIFFEID of class "${manager.value.className ?? ''}" selects this pod, but its controller manager watches only namespaces ${Object.keys(watched).join(', ')} (cacheNamespaces), so the pod never gets an entry`,
      `add ${pod.namespace} to cacheNamespaces`));
});

/** Names of the injection templates that mount a CSI volume, in any Istio source of the input. */
export function spireTemplateNames(model: MeshModel): Set<string> {
  const mountsCsi = (template: InjectionTemplate) => [template.native, template.classic].some((render) =>
    (render?.spec?.volumes ?? []).some((volume: any) => volume.csi));
  return new Set(model.istioSources.flatMap((istio) =>
    Object.entries(istio.templates).filter(([, template]) => mountsCsi(template)).map(([name]) => name)));
}

/** Pods whose `inject.istio.io/templates` asks for a template that mounts the SPIRE socket. */
export function spireEnabledPods(model: MeshModel): PodTemplate[] {
  const spireTemplates = spireTemplateNames(model);
  return model.pods.filter((pod) => templatesOf(pod).some((name) => spireTemplates.has(name)));
}

/** A pod that asks for a SPIRE template must be injected, selected by a ClusterSPIFFEID and get one ID. */
const spireWorkloadsGetIdentity: Rule = (model) => spireEnabledPods(model).flatMap((pod) => workloadFindings(model, pod));

// Templates Istio's injector defines itself, in every install.
const ISTIO_BUILT_IN_TEMPLATES = ['sidecar', 'gateway', 'grpc-agent', 'grpc-simple'];
const PASS_ISTIO_SOURCE = 'pass the IstioOperator or the istiod Helm values file that defines them (a file named *istiod-values.yaml, or --istiod-values FILE)';

/**
 * Istio's injector refuses a pod that names a template it does not have.
 * Without any Istio source in the input that cannot be told, which is said.
 */
const namedTemplatesDefined: Rule = (model) => model.pods.flatMap((pod) => {
  const named = templatesOf(pod).filter((name) => !ISTIO_BUILT_IN_TEMPLATES.includes(name));
  if (named.length === 0) return [];
  if (model.istioSources.length === 0) {
    return [finding(pod.source, `injection templates ${named.join(', ')} are not defined in the input, so whether Istio has them was not checked`,
      PASS_ISTIO_SOURCE, 'warning')];
  }
  return model.istioSources.flatMap((istio) => {
    const missing = named.filter((name) => !Object.prototype.hasOwnProperty.call(istio.templates, name));
    return missing.length === 0 ? [] : [finding(pod.source,
      `injection templates ${missing.join(', ')} are not defined by the ${describe(istio.source.doc)} in ${istio.source.file}, so Istio's injector rejects the pod`,
      `define them in sidecarInjectorWebhook.templates there, or ${PASS_ISTIO_SOURCE}`)];
  });
});

/**
 * A mesh pod that gets an Istio-form SPIRE identity but asks for no SPIRE
 * template has a registration entry that nothing uses: istio-proxy never
 * mounts the agent's socket and takes its certificate from istiod instead.
 */
const meshIdentitiesMounted: Rule = (model) => {
  const spireTemplates = spireTemplateNames(model);
  const asksForSpire = (pod: PodTemplate) => templatesOf(pod).some((name) =>
    (model.istioSources.length === 0 ? !ISTIO_BUILT_IN_TEMPLATES.includes(name) : spireTemplates.has(name)));
  return model.pods.filter((pod) => mayBeInjected(model, pod) && !asksForSpire(pod)).flatMap((pod) => {
    const reason = meshIdentityReason(model, pod);
    if (!reason) return [];
    return [finding(pod.source, `${reason}, but its ${INJECT_TEMPLATES_ANNOTATION} annotation asks for no SPIRE template, so istio-proxy never mounts the SPIRE socket`,
      `annotate the pod template ${INJECT_TEMPLATES_ANNOTATION}: "sidecar,${[...spireTemplates][0] ?? 'spire'}" (gateways: "gateway,<their SPIRE template>")`)];
  });
};

function mayBeInjected(model: MeshModel, pod: PodTemplate): boolean {
  const namespaceLabels = model.namespaces.get(pod.namespace);
  const optedOut = pod.metadata.labels?.[SIDECAR_INJECT_LABEL] === 'false';
  return !optedOut && (namespaceLabels === undefined || injectionEnabled(namespaceLabels) || pod.metadata.labels?.[SIDECAR_INJECT_LABEL] === 'true');
}

function meshIdentityReason(model: MeshModel, pod: PodTemplate): string | undefined {
  const labels = pod.metadata.labels ?? {};
  const namespaceLabels = model.namespaces.get(pod.namespace) ?? {};
  const selecting = model.clusterSpiffeIds.find(({ value }) => yieldsIstioIdPath(String(value.spec?.spiffeIDTemplate ?? ''))
    && selectorMatches(value.spec?.podSelector, labels) && selectorMatches(value.spec?.namespaceSelector, namespaceLabels));
  if (selecting) return `ClusterSPIFFEID ${selecting.value.metadata?.name} gives this pod an Istio identity`;
  if (labels[SPIRE_MANAGED_IDENTITY_LABEL] === 'true') return `the pod carries ${SPIRE_MANAGED_IDENTITY_LABEL}: "true"`;
  return undefined;
}

function workloadFindings(model: MeshModel, pod: PodTemplate): Finding[] {
  const findings: Finding[] = [];
  const namespaceLabels = model.namespaces.get(pod.namespace);
  const labels = pod.metadata.labels ?? {};
  if (namespaceLabels === undefined) {
    findings.push(finding(pod.source, `namespace ${pod.namespace} is not in the input, so its injection label cannot be checked`,
      `include the Namespace with label ${ISTIO_INJECTION_LABEL}=enabled`, 'warning'));
  } else if (!injectionEnabled(namespaceLabels)) {
    findings.push(finding(pod.source, `namespace ${pod.namespace} does not have Istio injection enabled, so istio-proxy never mounts the SPIRE socket`,
      `label namespace ${pod.namespace} ${ISTIO_INJECTION_LABEL}=enabled`));
  }
  if (labels[SIDECAR_INJECT_LABEL] === 'false') {
    findings.push(finding(pod.source, `the pod opts out of injection (${SIDECAR_INJECT_LABEL}=false)`, 'remove that label'));
  }
  const selecting = identitiesSelecting(model, pod);
  if (selecting.length === 0) {
    findings.push(finding(pod.source, 'no ClusterSPIFFEID selects this pod, so it never gets an identity',
      'add the labels a ClusterSPIFFEID podSelector matches, e.g. spiffe.io/spire-managed-identity: "true"'));
  }
  const templates = new Set(selecting.map(({ value }) => value.spec?.spiffeIDTemplate));
  if (templates.size > 1) {
    findings.push(finding(pod.source, `ClusterSPIFFEIDs ${selecting.map(({ value }) => value.metadata?.name).join(', ')} give this pod different IDs`,
      'narrow their podSelectors so one selects it'));
  }
  return findings;
}

/** The ClusterSPIFFEIDs whose pod and namespace selectors both match a pod. */
export function identitiesSelecting(model: MeshModel, pod: PodTemplate): Array<Located<KubeObject>> {
  const labels = pod.metadata.labels ?? {};
  const namespaceLabels = model.namespaces.get(pod.namespace) ?? {};
  return model.clusterSpiffeIds.filter(({ value }) =>
    selectorMatches(value.spec?.podSelector, labels) && selectorMatches(value.spec?.namespaceSelector, namespaceLabels));
}

/** The SPIFFE IDs the ClusterSPIFFEIDs that select a pod render for it, each once. */
export function spiffeIdsOf(model: MeshModel, pod: PodTemplate): string[] {
  const context = {
    trustDomain: issuingTrustDomain(model),
    clusterName: String(model.controllerManagers[0]?.value.clusterName ?? ''),
    namespace: pod.namespace,
    serviceAccountName: pod.spec.serviceAccountName ?? 'default',
  };
  return [...new Set(identitiesSelecting(model, pod).map(({ value }) => renderTemplate(String(value.spec?.spiffeIDTemplate ?? ''), context)))];
}

/** The trust domain the input's SPIRE signs for, as the controller manager (else the server) states it. */
function issuingTrustDomain(model: MeshModel): string {
  return String(model.controllerManagers[0]?.value.trustDomain ?? model.servers[0]?.value.server?.trust_domain ?? '');
}

/** The principals an AuthorizationPolicy lets in: its rules' source principals, Istio's form of SPIFFE IDs. */
export function principalsOf(policy: KubeObject): string[] {
  return (policy.spec?.rules ?? []).flatMap((rule: any) => (rule.from ?? []).flatMap((from: any) => from.source?.principals ?? []));
}

/** The SPIRE-enabled pods whose ID Istio sees as this principal (a SPIFFE ID without `spiffe://`). */
export function podsWithPrincipal(model: MeshModel, principal: string): PodTemplate[] {
  return spireEnabledPods(model).filter((pod) => spiffeIdsOf(model, pod).includes(`spiffe://${principal}`));
}

/**
 * A principal of the input's trust domain that no SPIRE-enabled pod of the
 * input gets matches no caller, unless a pod outside the input has that ID.
 * Patterns and other (federated) trust domains are left alone; without
 * SPIRE-enabled pods in the input there is nothing to compare with.
 */
const principalsIssued: Rule = (model) => (spireEnabledPods(model).length === 0 ? [] : model.authorizationPolicies).flatMap(({ value, source }) => principalsOf(value)
  .filter((principal) => principal.startsWith(`${issuingTrustDomain(model)}/`) && !principal.includes('*') && podsWithPrincipal(model, principal).length === 0)
  .map((principal) => finding(source,
    `principal ${principal} is not the ID a ClusterSPIFFEID gives any SPIRE-enabled pod in the input, so no caller in it matches`,
    'name callers by the ID their ClusterSPIFFEID renders, without spiffe:// (<trust domain>/ns/<namespace>/sa/<service account>), or include the workload that gets it',
    'warning')));

/** The objects the controller manager turns into registration entries, each of which may federate. */
function registrations(model: MeshModel): Array<Located<KubeObject>> {
  return [...model.clusterSpiffeIds, ...model.clusterStaticEntries];
}

/** The trust domains the workloads federate with: every ClusterSPIFFEID's and ClusterStaticEntry's `federatesWith`. */
export function federatedTrustDomains(model: MeshModel): string[] {
  return [...new Set(registrations(model).flatMap(({ value }) => (value.spec?.federatesWith ?? []).map(String)))];
}

/**
 * A trust domain a ClusterSPIFFEID or ClusterStaticEntry federates with needs a
 * ClusterFederatedTrustDomain of the same class, or the server never fetches
 * its bundle; and the own trust domain is no partner.
 */
const federatedTrustDomainsDeclared: Rule = (model) => {
  const ownTrustDomain = model.controllerManagers[0]?.value.trustDomain ?? model.servers[0]?.value.server?.trust_domain;
  return registrations(model).flatMap(({ value, source }) => (value.spec?.federatesWith ?? []).flatMap((trustDomain: string) => {
    if (trustDomain === ownTrustDomain) {
      return [finding(source, `federatesWith lists the own trust domain ${trustDomain}`, 'remove it from federatesWith')];
    }
    const declared = model.clusterFederatedTrustDomains.some((domain) => domain.value.spec?.trustDomain === trustDomain
      && domain.value.spec?.className === value.spec?.className);
    return declared ? [] : [finding(source,
      `federatesWith lists ${trustDomain}, but no ClusterFederatedTrustDomain of class "${value.spec?.className ?? ''}" declares it, so the server never fetches its bundle and the workloads get none`,
      `add a ClusterFederatedTrustDomain for ${trustDomain} with className "${value.spec?.className ?? ''}"`)];
  }));
};

/**
 * A partner's `https_spiffe` endpoint presents an ID of the partner's trust
 * domain. SPIRE would accept another trust domain whose bundle it holds; the
 * library does not declare such third bundles, so it keeps to the partner's.
 */
const federationEndpointIdsInPartnerDomain: Rule = (model) => model.clusterFederatedTrustDomains.flatMap(({ value, source }) => {
  const profile = value.spec?.bundleEndpointProfile ?? {};
  if (profile.type !== 'https_spiffe') return [];
  const id = String(profile.endpointSPIFFEID ?? '');
  return id.startsWith(`spiffe://${value.spec?.trustDomain}/`) ? [] : [finding(source,
    `endpointSPIFFEID "${id}" is not in the partner's trust domain ${value.spec?.trustDomain}: ${ONLY_PARTNER_SERVER_ENDPOINTS}`,
    `use the partner server's ID, spiffe://${value.spec?.trustDomain}/spire/server`)];
});

/**
 * Envoy validates a federated peer only with the partner's roots, which the
 * SPIRE agent serves under its "all bundles" SDS name; Istio's proxies ask for
 * "ROOTCA". And istiod accepts a peer's trust domain on inbound mTLS only when
 * it is the mesh's own, an alias or one of meshConfig.caCertificates.
 */
const proxiesValidateFederatedPeers: Rule = (model) => {
  const federated = federatedTrustDomains(model);
  if (federated.length === 0) return [];
  const agentFindings = model.agents.flatMap((agent) => {
    const { bundleName, allBundlesName, disableSpiffeCertValidation } = sdsOf(agent);
    const names = allBundlesName === ISTIO_ROOT_CA_RESOURCE && bundleName !== ISTIO_ROOT_CA_RESOURCE ? [] : [finding(agent.source,
      `the agent serves the federated bundles under SDS name "${allBundlesName}" and "${bundleName}" with its own bundle only, but istio-proxy asks for "${ISTIO_ROOT_CA_RESOURCE}", so peers of ${federated.join(', ')} fail validation`,
      `set agent.sds default_all_bundles_name = "${ISTIO_ROOT_CA_RESOURCE}" and default_bundle_name to another name, e.g. "null"`)];
    const validator = disableSpiffeCertValidation !== true ? [] : [finding(agent.source,
      `the agent sets disable_spiffe_cert_validation, so Envoy accepts any certificate chaining to any bundle and a CA of ${federated.join(', ')} could vouch for IDs of this trust domain`,
      'remove disable_spiffe_cert_validation from the agent\'s sds block')];
    return [...names, ...validator];
  });
  const istioFindings = model.istioSources.flatMap((istio) => {
    const missing = federated.filter((trustDomain) => trustDomain !== istio.trustDomain && !istio.acceptedTrustDomains.includes(trustDomain));
    return missing.length === 0 ? [] : [finding(istio.source,
      `istiod accepts peers of ${missing.join(', ')} on inbound mTLS only when meshConfig lists them, and it does not`,
      `add meshConfig.caCertificates entries with trustDomains ${missing.join(', ')}`)];
  });
  return [...agentFindings, ...istioFindings];
};

/**
 * istio-proxy asks the agent's SDS for its certificate under "default" and for
 * the roots under "ROOTCA"; SPIRE ignores the all-bundles name when it is the
 * own bundle's. With federation the roots must be all bundles, which
 * `proxiesValidateFederatedPeers` checks.
 */
const proxiesGetSdsResources: Rule = (model) => {
  const federated = federatedTrustDomains(model).length > 0;
  return model.agents.flatMap((agent) => {
    const { svidName, bundleName, allBundlesName } = sdsOf(agent);
    const findings: Finding[] = [];
    if (svidName !== ISTIO_SVID_RESOURCE) {
      findings.push(finding(agent.source, `the agent serves workload certificates under SDS name "${svidName}", but istio-proxy asks for "${ISTIO_SVID_RESOURCE}", so the proxies get no certificate`,
        'remove default_svid_name from the agent\'s sds block'));
    }
    if (federated) return findings;
    if (bundleName === allBundlesName) {
      findings.push(finding(agent.source, `default_bundle_name and default_all_bundles_name are both "${bundleName}", so SPIRE ignores the all-bundles name`,
        'give the two names different values'));
    } else if (bundleName !== ISTIO_ROOT_CA_RESOURCE && allBundlesName !== ISTIO_ROOT_CA_RESOURCE) {
      findings.push(finding(agent.source, `the agent serves the roots under SDS names "${bundleName}" and "${allBundlesName}", but istio-proxy asks for "${ISTIO_ROOT_CA_RESOURCE}", so no proxy can validate a peer`,
        `name one of them "${ISTIO_ROOT_CA_RESOURCE}", or remove them from the agent's sds block`));
    }
    return findings;
  });
};

/** The agent's SDS names and validation as SPIRE serves them: its `sds` block over SPIRE's defaults. */
function sdsOf(agent: AgentModel): { svidName: string; bundleName: string; allBundlesName: string; disableSpiffeCertValidation: boolean } {
  const sds = agent.value.agent?.sds ?? {};
  return {
    svidName: String(sds.default_svid_name ?? ISTIO_SVID_RESOURCE),
    bundleName: String(sds.default_bundle_name ?? SPIRE_SDS_DEFAULTS.bundleName),
    allBundlesName: String(sds.default_all_bundles_name ?? SPIRE_SDS_DEFAULTS.allBundlesName),
    disableSpiffeCertValidation: sds.disable_spiffe_cert_validation === true,
  };
}

/**
 * An AWS Private CA template caps how many CAs may follow the server's CA in
 * a chain, and SPIRE's default template allows none. A downstream
 * registration of the server's class, or a nested server of its trust
 * domain, puts a CA below it, whose chain then fails validation. A warning:
 * the output may not hold every CA below the server, nor the template's
 * actual constraints.
 */
const casBelowAwsPcaCa: Rule = (model) => model.servers.flatMap((server) => {
  const pca = pluginData(server.value, 'UpstreamAuthority', 'aws_pca');
  const template = String(pca?.ca_signing_template_arn ?? DEFAULT_PCA_TEMPLATE_ARN);
  if (pca === undefined || templatePathLength(template) !== 0) return [];
  const trustDomain = server.value.server?.trust_domain;
  const classes = model.controllerManagers.filter((manager) => manager.value.trustDomain === trustDomain).map((manager) => manager.value.className);
  const below = [
    ...registrations(model).filter(({ value }) => value.spec?.downstream === true && classes.includes(value.spec?.className))
      .map(({ value }) => `${describe(value)} is a downstream entry`),
    ...model.servers.filter((other) => other !== server && other.value.server?.trust_domain === trustDomain && pluginData(other.value, 'UpstreamAuthority', 'spire') !== undefined)
      .map((other) => `${describe(other.source.doc)} holds a nested server of ${trustDomain}`),
  ];
  return below.length === 0 ? [] : [finding(server.source,
    `the server's CA is issued by AWS Private CA with the template ${template.slice(template.indexOf('template/') + 'template/'.length)}, which allows no CA below it, but ${below.join(' and ')}, so the CAs of those servers fail chain validation`,
    'issue it with a template that allows a CA below: caSigningTemplate: AwsPcaCaTemplate.subordinate(1) (ca_signing_template_arn .../SubordinateCACertificate_PathLen1/V1), more for deeper nesting',
    'warning')];
});

/** The admin API must never sit in the directory the CSI driver hands to every workload. */
const adminSocketPrivate: Rule = (model) => model.agents.flatMap((agent) => {
  const admin = agent.value.agent?.admin_socket_path;
  const publicDir = path.posix.dirname(String(agent.value.agent?.socket_path ?? ''));
  if (admin === undefined || path.posix.dirname(String(admin)) !== publicDir) return [];
  return [finding(agent.source, `admin_socket_path ${admin} is in the public Workload API directory ${publicDir}`, 'move it to a private directory such as /tmp/spire-agent/private')];
});

/**
 * The `k8s` attestor dials the kubelet at the address in `node_name_env`; unset,
 * it dials 127.0.0.1, which only host networking reaches.
 */
const agentReachesKubelet: Rule = (model) => model.agents.flatMap((agent) => {
  const data = pluginData(agent.value, 'WorkloadAttestor', 'k8s');
  if (!data || data.node_name !== undefined || !agent.pod || agent.pod.spec.hostNetwork === true) return [];
  const envName = data.node_name_env ?? 'MY_NODE_NAME';
  const env = (agent.container?.env ?? []).find((variable: any) => variable.name === envName);
  if (!env) {
    return [finding(agent.source, `node_name_env ${envName} is not set in the agent pod, so the attestor dials the kubelet at 127.0.0.1, which a pod without host networking cannot reach`,
      `set ${envName} from the downward API field status.hostIP`)];
  }
  if (env.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') {
    return [finding(agent.source, `${envName} is the node name, which the agent pod can reach only where node names resolve in cluster DNS`,
      `set ${envName} from status.hostIP`, 'warning')];
  }
  return [];
});

/** A config the checker cannot read is said, so that silence never means it was checked. */
const configsRead: Rule = (model) => model.unreadable.map(({ value, source }) => finding(source,
  `${value.key} is neither JSON nor HCL (${value.reason}), so SPIRE cannot start with it and its wiring was not checked`,
  'fix the config\'s syntax'));

const AGENT: RuleInput = 'SPIRE agent config';
const SERVER: RuleInput = 'SPIRE server config';
const ISTIO: RuleInput = 'Istio install source (IstioOperator or istiod Helm values)';

const RULES: RuleEntry[] = [
  { name: 'every SPIRE config is readable', needs: [], check: configsRead },
  { name: 'the agent reaches the kubelet', needs: [AGENT], check: agentReachesKubelet },
  { name: 'the agent socket is the directory the CSI driver serves', needs: [AGENT, 'SPIFFE CSI driver'], check: agentSocketSharedWithCsiDriver },
  { name: 'one trust domain', needs: [SERVER, AGENT, ISTIO], check: oneTrustDomain },
  { name: 'one cluster name', needs: [SERVER, AGENT], check: oneClusterName },
  { name: 'the agent reaches the server', needs: [AGENT, 'Service'], check: agentReachesServer },
  { name: 'the agent reads the bundle the server publishes', needs: [SERVER, AGENT], check: agentReadsPublishedBundle },
  { name: 'injection templates mount the agent socket', needs: [ISTIO, AGENT], check: istioTemplatesMountAgentSocket },
  { name: 'ClusterSPIFFEIDs serve the mesh', needs: ['ClusterSPIFFEID', 'SPIRE Controller Manager config'], check: clusterSpiffeIdsServeTheMesh },
  { name: 'the controller manager reconciles its class\'s resources', needs: ['SPIRE Controller Manager config'], check: classResourcesReconciled },
  { name: 'the controller manager watches the pods its class selects', needs: ['ClusterSPIFFEID', 'SPIRE Controller Manager config'], check: selectedPodsWatched },
  { name: 'SPIRE-enabled pods get an identity', needs: [ISTIO, 'ClusterSPIFFEID', 'SPIRE-enabled pod'], check: spireWorkloadsGetIdentity },
  { name: 'templates named by pods are defined', needs: [ISTIO], check: namedTemplatesDefined },
  { name: 'pods with a SPIRE identity mount its socket', needs: [ISTIO, 'ClusterSPIFFEID'], check: meshIdentitiesMounted },
  { name: 'the admin socket is private', needs: [AGENT], check: adminSocketPrivate },
  { name: 'held classic sidecars can be attested', needs: [ISTIO, AGENT, 'SPIRE-enabled pod'], check: heldProxiesAttested },
  { name: 'authorization principals are IDs SPIRE issues', needs: ['ClusterSPIFFEID', 'SPIRE-enabled pod'], check: principalsIssued },
  { name: 'federated trust domains are declared', needs: ['ClusterSPIFFEID or ClusterStaticEntry'], check: federatedTrustDomainsDeclared },
  { name: 'partner endpoint IDs are in the partner trust domain', needs: [], check: federationEndpointIdsInPartnerDomain },
  { name: 'proxies validate federated peers', needs: ['ClusterSPIFFEID or ClusterStaticEntry', AGENT, ISTIO], check: proxiesValidateFederatedPeers },
  { name: 'proxies get their certificate and roots from the agent', needs: [AGENT, ISTIO], check: proxiesGetSdsResources },
  { name: 'CAs below an AWS Private CA-issued server fit its template', needs: [SERVER], check: casBelowAwsPcaCa },
];
