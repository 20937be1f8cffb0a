import * as path from 'path';
import { describe } from './manifests';
import { code, listText } from './markdown';
import { hostPathMountedAt, IstioModel, MeshModel } from './model';
import { agentSocketMount, spireTemplateNames } from './rules';

const PROXY = 'istio-proxy';

/** A SPIRE injection template of one Istio source: the CSI volume it mounts into istio-proxy, and where. */
export interface TemplateWiring {
  readonly name: string;
  readonly istio: IstioModel;
  readonly driver: string;
  readonly mountPath?: string;
  readonly readOnly: boolean;
  /** The socket istio-proxy dials: the mount path and the socket file name Istio expects. */
  readonly socket?: string;
  /** The pod spec list istio-proxy is patched into, for native and for classic sidecars. */
  readonly proxyIn: { readonly native?: string; readonly classic?: string };
}

/** One hop of the Workload API socket, from the agent to istio-proxy. */
export interface SocketHop {
  readonly what: string;
  readonly where: string;
}

/** Each template of each Istio source that mounts a CSI volume, as Istio renders it. */
export function injectionTemplates(model: MeshModel): TemplateWiring[] {
  const spireTemplates = spireTemplateNames(model);
  return model.istioSources.flatMap((istio) => Object.entries(istio.templates)
    .filter(([name]) => spireTemplates.has(name))
    .map(([name, template]) => {
      const render = template.native ?? template.classic;
      const volume = (render?.spec?.volumes ?? []).find((candidate: any) => candidate.csi);
      const mount = proxyMountIn(render, volume?.name)?.mount;
      return {
        name,
        istio,
        driver: String(volume?.csi?.driver),
        mountPath: mount?.mountPath,
        readOnly: mount?.readOnly === true,
        socket: mount ? `${mount.mountPath}/${istio.socketFileName}` : undefined,
        proxyIn: { native: proxyMountIn(template.native, volume?.name)?.list, classic: proxyMountIn(template.classic, volume?.name)?.list },
      };
    }));
}

/** The mount of the volume into istio-proxy in a rendered template, and the container list that istio-proxy is in. */
function proxyMountIn(render: any, volumeName: string | undefined): { list: string; mount: any } | undefined {
  for (const list of ['initContainers', 'containers']) {
    const proxy = (render?.spec?.[list] ?? []).find((container: any) => container.name === PROXY);
    const mount = (proxy?.volumeMounts ?? []).find((candidate: any) => candidate.name === volumeName);
    if (mount) return { list, mount };
  }
  return undefined;
}

/** A template's name and Istio source, as the report and the diff name it. */
export function templateSubject(template: TemplateWiring): string {
  return `template ${template.name} of ${describe(template.istio.source.doc)}`;
}

/** Where istio-proxy sits: one list for both modes, or each mode's list. */
export function proxyPlacement(template: TemplateWiring): string {
  const { native, classic } = template.proxyIn;
  if (native === classic) return native ?? 'not mounted';
  return `${native ?? 'not mounted'} (native sidecar), ${classic ?? 'not mounted'} (classic sidecar)`;
}

/** The socket's way in stages: agent and its node directory, CSI driver, istio-proxy. */
export function socketStages(model: MeshModel): SocketHop[][] {
  const agents = model.agents.map((agent) => {
    const socketPath = String(agent.value.agent?.socket_path ?? '');
    const mount = agentSocketMount(agent, path.posix.dirname(socketPath));
    const inNodeDir = mount.hostPath !== undefined ? `in node directory ${code(mount.hostPath)}`
      : mount.volume !== undefined ? `in volume ${code(mount.volume.name)} of its pod, not a node directory` : 'on no volume';
    return { what: `SPIRE agent serves its socket (${describe((agent.pod ?? agent).source.doc)})`, where: `${code(socketPath)}, ${inNodeDir}` };
  });
  const drivers = model.csiDrivers.map((driver) => ({
    what: `CSI driver ${listText(model.csiDriverNames)} serves (${describe(driver.pod.source.doc)})`,
    where: `${code(hostPathMountedAt(driver.pod, driver.container, driver.servedDir).hostPath ?? 'not a hostPath')} as ${code(driver.servedDir)}`,
  }));
  const proxies = injectionTemplates(model).map((template) => ({
    what: `istio-proxy reads, template "${template.name}" of ${describe(template.istio.source.doc)}`,
    where: template.socket ? code(template.socket) : 'not mounted',
  }));
  return [agents, drivers, proxies].filter((stage) => stage.length > 0);
}
