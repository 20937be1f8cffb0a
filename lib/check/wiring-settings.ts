import { NATIVE_SIDECAR_ANNOTATION } from '../istio/injection-template';
import { describe, ISTIOD_HELM_VALUES, ManifestObject } from './manifests';
import { MeshModel } from './model';
import { clustersOf, pluginData } from './rules';

/** What one SPIRE config, the controller manager or an Istio source states about trust domain and cluster. */
export interface ConfigSetting {
  /** `SPIRE server`, `SPIRE agent`, `SPIRE Controller Manager` or `Istio`. */
  readonly component: string;
  readonly trustDomain: string;
  /** The cluster names it states, and the field that states them; none for Istio. */
  readonly clusters?: { readonly names: string[]; readonly field: string };
  readonly source: ManifestObject;
}

/** How Istio injects istio-proxy into a pod, and the setting that decides it. */
export interface SidecarModeDecision {
  /** The Istio source for the mesh-wide mode, or the workload that overrides it. */
  readonly appliesTo: string;
  readonly native: boolean;
  /** The setting and its value; none when Istio's default decides. */
  readonly setting?: { readonly name: string; readonly value: string };
  readonly byAnnotation: boolean;
}

/** One container image, or Istio's, as an install source sets it. */
export interface ContainerImage {
  readonly workload: string;
  readonly container: string;
  /** The image as written, or Istio's hub and tag. */
  readonly reference: string;
  readonly repository: string;
  readonly version: string;
}

export function configSettings(model: MeshModel): ConfigSetting[] {
  return [
    ...model.servers.map((server) => ({
      component: 'SPIRE server', trustDomain: String(server.value.server?.trust_domain), source: server.source,
      clusters: { names: Object.keys(clustersOf(pluginData(server.value, 'NodeAttestor', 'k8s_psat'))), field: 'k8s_psat `clusters`' },
    })),
    ...model.agents.map((agent) => ({
      component: 'SPIRE agent', trustDomain: String(agent.value.agent?.trust_domain), source: agent.source,
      clusters: { names: [String(pluginData(agent.value, 'NodeAttestor', 'k8s_psat')?.cluster)], field: 'k8s_psat `cluster`' },
    })),
    ...model.controllerManagers.map((manager) => ({
      component: 'SPIRE Controller Manager', trustDomain: String(manager.value.trustDomain), source: manager.source,
      clusters: { names: [String(manager.value.clusterName)], field: '`clusterName`' },
    })),
    ...model.istioSources.map((istio) => ({ component: 'Istio', trustDomain: istio.trustDomain, source: istio.source })),
  ];
}

/** The subject a setting is named by: the Istio source itself, or the component and the object holding its config. */
export function settingSubject(setting: ConfigSetting): string {
  const where = describe(setting.source.doc);
  return setting.component === 'Istio' ? where : `${setting.component} (${where})`;
}

/** The mesh-wide mode of each Istio source, then each workload whose annotation sets its own. */
export function sidecarModes(model: MeshModel): SidecarModeDecision[] {
  return [
    ...model.istioSources.map((istio) => ({ appliesTo: describe(istio.source.doc), native: istio.nativeSidecars, setting: istio.sidecarModeSetting, byAnnotation: false })),
    ...model.pods.flatMap((pod) => {
      const value = pod.metadata.annotations?.[NATIVE_SIDECAR_ANNOTATION];
      return value === undefined ? [] : [{
        appliesTo: describe(pod.source.doc), native: value !== 'false', setting: { name: NATIVE_SIDECAR_ANNOTATION, value }, byAnnotation: true,
      }];
    }),
  ];
}

export function sidecarModeName(mode: SidecarModeDecision): string {
  return mode.native ? 'native sidecar' : 'classic sidecar';
}

/** Every container's image, then the images each Istio source sets for istiod and istio-proxy. */
export function containerImages(model: MeshModel): ContainerImage[] {
  const containers = model.pods.flatMap((pod) => [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]
    .map((container: any) => ({ workload: describe(pod.source.doc), container: String(container.name), reference: String(container.image), ...imageParts(String(container.image)) })));
  return [...containers, ...model.istioSources.map((istio) => istioImage(istio.source))];
}

// A gateway's `image: auto` is replaced by the injector with its own proxy image.
const INJECTED_IMAGE = 'auto';

/** An image reference split into repository and version: tag, digest or both. */
function imageParts(image: string): { repository: string; version: string } {
  if (image === INJECTED_IMAGE) return { repository: image, version: 'Istio\'s proxy image, injected' };
  const [named, digest] = image.split('@');
  const tagAt = named.lastIndexOf(':');
  const tagged = tagAt > named.lastIndexOf('/');
  const version = [tagged ? named.slice(tagAt + 1) : undefined, digest].filter(Boolean).join('@');
  return { repository: tagged ? named.slice(0, tagAt) : named, version: version || 'latest (no tag)' };
}

/** istiod's and istio-proxy's image: `hub`/`tag` (an IstioOperator's own or `global`'s), else the release's. */
function istioImage(source: ManifestObject): ContainerImage {
  const spec = source.doc.spec ?? {};
  const hub = spec.hub ?? spec.values?.global?.hub;
  const tag = spec.tag ?? spec.values?.global?.tag;
  const release = source.doc.kind === ISTIOD_HELM_VALUES ? 'chart' : 'istioctl';
  const repository = hub === undefined ? `not set: the ${release} release's own` : `${hub}/{pilot,proxyv2}`;
  const version = tag === undefined ? 'the release\'s' : String(tag);
  return { workload: describe(source.doc), container: 'istiod, istio-proxy', reference: `${repository}, version ${version}`, repository, version };
}
