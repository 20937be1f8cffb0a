import * as YAML from 'yaml';
import { renderForSidecarMode } from '../istio/injection-template';
import { envListValue } from '../istio/mesh-settings';
import { ISTIOD_HELM_VALUES, KubeObject, ManifestObject } from './manifests';
import { parseSpireConfig } from './spire-config';
import { podTemplateIn } from '../kube/pod-template';

/**
 * What the wiring rules need, read off arbitrary manifests: SPIRE configs
 * from ConfigMaps, the pods that mount them, Istio's injection templates, the
 * ClusterSPIFFEIDs and every pod template.
 */
export interface MeshModel {
  /** Configs the checker found but cannot read, with the parser's reason. */
  readonly unreadable: Array<Located<{ key: string; reason: string }>>;
  readonly servers: SpireConfigModel[];
  readonly agents: AgentModel[];
  readonly controllerManagers: Array<Located<any>>;
  readonly csiDrivers: CsiNodePlugin[];
  readonly csiDriverNames: string[];
  /** IstioOperators and istiod Helm values: either installs Istio with the same settings. */
  readonly istioSources: IstioModel[];
  readonly clusterSpiffeIds: Array<Located<KubeObject>>;
  readonly clusterStaticEntries: Array<Located<KubeObject>>;
  readonly clusterFederatedTrustDomains: Array<Located<KubeObject>>;
  readonly namespaces: Map<string, Record<string, string>>;
  readonly services: Array<Located<KubeObject>>;
  readonly pods: PodTemplate[];
  readonly authorizationPolicies: Array<Located<KubeObject>>;
  readonly peerAuthentications: Array<Located<KubeObject>>;
}

/** A value found in one object of one file. */
export interface Located<T> {
  readonly value: T;
  readonly source: ManifestObject;
}

export interface SpireConfigModel extends Located<any> {
  readonly format: 'JSON' | 'HCL';
}

export interface AgentModel extends SpireConfigModel {
  /** The pod template of the workload that mounts this config, when there is one. */
  readonly pod?: PodTemplate;
  /** The container in it that mounts the config. */
  readonly container?: any;
}

export interface CsiNodePlugin {
  readonly pod: PodTemplate;
  /** The `-workload-api-socket-dir` the driver serves, inside its container. */
  readonly servedDir: string;
  readonly container: any;
}

export interface IstioModel extends Located<KubeObject> {
  readonly trustDomain: string;
  readonly nativeSidecars: boolean;
  /** The setting that decides `nativeSidecars`, with its value; none when Istio's default does. */
  readonly sidecarModeSetting?: { readonly name: string; readonly value: string };
  readonly socketFileName: string;
  /** Trust domains whose peers istiod accepts besides its own: aliases and `caCertificates[].trustDomains`. */
  readonly acceptedTrustDomains: string[];
  /** `meshConfig.defaultConfig.holdApplicationUntilProxyStarts`; a pod's `proxy.istio.io/config` overrides it. */
  readonly holdApplicationUntilProxyStarts: boolean;
  /** `values.global.proxy.holdApplicationUntilProxyStarts`, which holds every pod whatever its ProxyConfig. */
  readonly holdEveryApplication: boolean;
  /** Injection templates by name, rendered once for each sidecar mode. */
  readonly templates: Record<string, InjectionTemplate>;
}

/**
 * An injection template as Istio renders it for a pod whose istio-proxy is a
 * native sidecar and for one where it is not; both undefined when the template
 * holds logic the checker cannot evaluate.
 */
export interface InjectionTemplate {
  readonly native?: any;
  readonly classic?: any;
}

export interface PodTemplate {
  readonly source: ManifestObject;
  readonly namespace: string;
  readonly metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec: any;
}

const NATIVE_SIDECARS_ENV = 'ENABLE_NATIVE_SIDECARS';

// Istio's defaults when the IstioOperator or the Helm values leave them out.
const ISTIO_DEFAULT_TRUST_DOMAIN = 'cluster.local';
const ISTIO_DEFAULT_SOCKET_FILE = 'socket';

export function buildModel(objects: ManifestObject[]): MeshModel {
  const pods = objects.flatMap(podTemplateOf);
  const unreadable: MeshModel['unreadable'] = [];
  const configs = (key: string): SpireConfigModel[] => configMapEntries(objects, (name) => name === key).flatMap(({ value, source }) => {
    const parsed = parseSpireConfig(value);
    if (parsed.format === 'unreadable') {
      unreadable.push({ value: { key, reason: parsed.reason }, source });
      return [];
    }
    return [{ value: parsed.config, format: parsed.format, source }];
  });
  return {
    unreadable,
    servers: configs('server.conf'),
    agents: configs('agent.conf').map((agent) => ({ ...agent, ...podMountingConfigMap(pods, agent.source.doc) })),
    controllerManagers: configMapEntries(objects, (name) => name.endsWith('.yaml') || name.endsWith('.yml'))
      .map(({ value, source }) => ({ value: parseOrUndefined(() => YAML.parse(value)), source }))
      .filter(({ value }) => value?.kind === 'ControllerManagerConfig'),
    csiDrivers: pods.flatMap(csiNodePluginsOf),
    csiDriverNames: objects.filter(({ doc }) => doc.kind === 'CSIDriver').map(({ doc }) => doc.metadata?.name ?? ''),
    istioSources: objects.filter(({ doc }) => doc.kind === 'IstioOperator' || doc.kind === ISTIOD_HELM_VALUES).map(istioModelOf),
    clusterSpiffeIds: objects.filter(({ doc }) => doc.kind === 'ClusterSPIFFEID').map((source) => ({ value: source.doc, source })),
    clusterStaticEntries: objects.filter(({ doc }) => doc.kind === 'ClusterStaticEntry').map((source) => ({ value: source.doc, source })),
    clusterFederatedTrustDomains: objects.filter(({ doc }) => doc.kind === 'ClusterFederatedTrustDomain').map((source) => ({ value: source.doc, source })),
    namespaces: new Map(objects.filter(({ doc }) => doc.kind === 'Namespace')
      .map(({ doc }) => [doc.metadata?.name ?? '', doc.metadata?.labels ?? {}])),
    services: objects.filter(({ doc }) => doc.kind === 'Service').map((source) => ({ value: source.doc, source })),
    pods,
    authorizationPolicies: istioSecurityObjects(objects, 'AuthorizationPolicy'),
    peerAuthentications: istioSecurityObjects(objects, 'PeerAuthentication'),
  };
}

function istioSecurityObjects(objects: ManifestObject[], kind: string): Array<Located<KubeObject>> {
  return objects.filter(({ doc }) => doc.kind === kind && String(doc.apiVersion).startsWith('security.istio.io/')).map((source) => ({ value: source.doc, source }));
}

export function parseOrUndefined(parse: () => unknown): any {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

function configMapEntries(objects: ManifestObject[], keyMatches: (key: string) => boolean): Array<Located<string>> {
  return objects
    .filter(({ doc }) => doc.kind === 'ConfigMap')
    .flatMap((source) => Object.entries<string>(source.doc.data ?? {})
      .filter(([key]) => keyMatches(key))
      .map(([, value]) => ({ value, source })));
}

function podTemplateOf(source: ManifestObject): PodTemplate[] {
  const template = podTemplateIn(source.doc);
  if (!template?.spec) return [];
  return [{
    source,
    namespace: source.doc.metadata?.namespace ?? 'default',
    metadata: template.metadata ?? {},
    spec: template.spec,
  }];
}

function podMountingConfigMap(pods: PodTemplate[], configMap: KubeObject): { pod?: PodTemplate; container?: any } {
  for (const pod of pods.filter((candidate) => candidate.namespace === (configMap.metadata?.namespace ?? 'default'))) {
    const volume = (pod.spec.volumes ?? []).find((candidate: any) => candidate.configMap?.name === configMap.metadata?.name);
    if (!volume) continue;
    const container = (pod.spec.containers ?? []).find((candidate: any) =>
      (candidate.volumeMounts ?? []).some((mount: any) => mount.name === volume.name));
    return { pod, container };
  }
  return {};
}

/** The value of a Go flag in any of its spellings: `-f v`, `--f v`, `-f=v`, `--f=v`. */
export function flagValue(args: string[], flag: string): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const name = args[index].replace(/^--?/, '');
    if (name === flag) return args[index + 1];
    if (name.startsWith(`${flag}=`)) return name.slice(flag.length + 1);
  }
  return undefined;
}

function csiNodePluginsOf(pod: PodTemplate): CsiNodePlugin[] {
  return (pod.spec.containers ?? []).flatMap((container: any) => {
    const servedDir = flagValue([...(container.command ?? []), ...(container.args ?? [])], 'workload-api-socket-dir');
    return servedDir === undefined ? [] : [{ pod, servedDir, container }];
  });
}

function istioModelOf(source: ManifestObject): IstioModel {
  const spec = source.doc.spec ?? {};
  const templates = spec.values?.sidecarInjectorWebhook?.templates ?? {};
  return {
    value: source.doc,
    source,
    trustDomain: spec.meshConfig?.trustDomain ?? ISTIO_DEFAULT_TRUST_DOMAIN,
    ...sidecarModeOf(source.doc.kind === ISTIOD_HELM_VALUES ? '' : 'values.', spec),
    socketFileName: spec.meshConfig?.defaultConfig?.proxyMetadata?.WORKLOAD_IDENTITY_SOCKET_FILE ?? ISTIO_DEFAULT_SOCKET_FILE,
    holdApplicationUntilProxyStarts: spec.meshConfig?.defaultConfig?.holdApplicationUntilProxyStarts === true,
    holdEveryApplication: spec.values?.global?.proxy?.holdApplicationUntilProxyStarts === true,
    acceptedTrustDomains: [
      ...(spec.meshConfig?.trustDomainAliases ?? []),
      ...(spec.meshConfig?.caCertificates ?? []).flatMap((certificate: any) => certificate?.trustDomains ?? []),
    ].map(String),
    templates: Object.fromEntries(Object.entries<string>(templates).map(([name, text]) =>
      [name, { native: renderForSidecarMode(text, true), classic: renderForSidecarMode(text, false) }])),
  };
}

/**
 * Native sidecars are Istio's default since 1.27; only an explicit "false"
 * turns them off. An IstioOperator's `components.pilot.k8s.env` is patched
 * onto the rendered istiod Deployment, so it wins over `values.pilot.env`,
 * which Helm values spell without `values.`.
 */
function sidecarModeOf(valuesPrefix: string, spec: any): Pick<IstioModel, 'nativeSidecars' | 'sidecarModeSetting'> {
  const fromK8s = envListValue(spec.components?.pilot?.k8s?.env, NATIVE_SIDECARS_ENV);
  const fromValues = spec.values?.pilot?.env?.[NATIVE_SIDECARS_ENV];
  const setting = fromK8s !== undefined ? { name: `components.pilot.k8s.env.${NATIVE_SIDECARS_ENV}`, value: String(fromK8s) }
    : fromValues !== undefined ? { name: `${valuesPrefix}pilot.env.${NATIVE_SIDECARS_ENV}`, value: String(fromValues) } : undefined;
  return { nativeSidecars: setting?.value !== 'false', sidecarModeSetting: setting };
}

/** The hostPath a container's mount at `dir` comes from, if it is a hostPath mount. */
export function hostPathMountedAt(pod: PodTemplate, container: any, dir: string): { volume?: any; hostPath?: string } {
  const mount = (container.volumeMounts ?? []).find((candidate: any) => candidate.mountPath === dir);
  if (!mount) return {};
  const volume = (pod.spec.volumes ?? []).find((candidate: any) => candidate.name === mount.name);
  return { volume, hostPath: volume?.hostPath?.path };
}
