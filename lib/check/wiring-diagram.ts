import { describe, ManifestObject } from './manifests';
import { MeshModel, PodTemplate } from './model';
import { csiDriverServesAgentSocket } from './rules';
import { authorizations, destinationPods, gatewayPods, ingressRoutes } from './wiring-access';
import { WorkloadIdentity } from './wiring-identities';
import { ConfigSetting } from './wiring-settings';
import { injectionTemplates, TemplateWiring } from './wiring-sockets';

/**
 * One Mermaid flowchart of the whole wiring, in the order a workload gets its
 * identity: server, agent, CSI driver, injection template, workload (with the
 * ClusterSPIFFEIDs that select it), and the routes and policies around it.
 * An edge that the input breaks is dotted and says why, so a broken wiring
 * still shows as one graph.
 */
export function wiringDiagram(objects: ManifestObject[], model: MeshModel, settings: ConfigSetting[], workloads: WorkloadIdentity[]): string[] {
  const chart = new Flowchart();
  const workloadIds = new Map<PodTemplate, string>(workloads.map((entry, index) => [entry.pod, `w${index}`]));
  serverAndAgents(chart, model, settings);
  csiDrivers(chart, model);
  templates(chart, model, workloads, workloadIds);
  workloads.forEach((entry, index) => chart.node(`w${index}`, `${entry.workload}<br/>${entry.spiffeIds.join('<br/>')}`));
  model.clusterSpiffeIds.forEach(({ value }, index) => {
    chart.node(`id${index}`, `ClusterSPIFFEID ${value.metadata?.name}`, '[/', '/]');
    workloads.filter((entry) => entry.identities.includes(value.metadata?.name ?? '')).forEach((entry) => chart.edge(`id${index}`, workloadIds.get(entry.pod)!, 'selects'));
  });
  policies(chart, model, workloadIds);
  routes(chart, objects, model, workloadIds);
  return ['```mermaid', 'flowchart LR', ...chart.lines(), '```'];
}

class Flowchart {
  private readonly nodes: string[] = [];
  private readonly edges: string[] = [];

  node(id: string, label: string, open = '[', close = ']'): void {
    this.nodes.push(`  ${id}${open}${quoted(label)}${close}`);
  }

  edge(from: string, to: string, label: string, broken = false): void {
    this.edges.push(`  ${from} ${broken ? '-.->' : '-->'}|${quoted(label)}| ${to}`);
  }

  lines(): string[] {
    return [...this.nodes, ...[...new Set(this.edges)]];
  }
}

/** A label in quotes, Mermaid's way of taking any text; a quote inside is its entity. */
function quoted(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`;
}

function serverAndAgents(chart: Flowchart, model: MeshModel, settings: ConfigSetting[]): void {
  const attested = settings.filter((setting) => setting.component === 'SPIRE server').map((setting) => setting.clusters?.names ?? []);
  model.servers.forEach((server, index) => chart.node(`server${index}`,
    `SPIRE server (${describe(server.source.doc)})<br/>trust domain ${server.value.server?.trust_domain}<br/>k8s_psat attests ${attested[index].join(', ') || 'none'}`));
  const agentClusters = settings.filter((setting) => setting.component === 'SPIRE agent').map((setting) => setting.clusters?.names[0] ?? '');
  model.agents.forEach((agent, index) => {
    chart.node(`agent${index}`, `SPIRE agent (${describe((agent.pod ?? agent).source.doc)})<br/>${agent.value.agent?.socket_path}`);
    const cluster = agentClusters[index];
    attested.forEach((clusters, serverIndex) => (clusters.includes(cluster)
      ? chart.edge(`server${serverIndex}`, `agent${index}`, `k8s_psat cluster ${cluster}`)
      : chart.edge(`server${serverIndex}`, `agent${index}`, `k8s_psat cluster ${cluster}, not attested`, true)));
  });
}

function csiDrivers(chart: Flowchart, model: MeshModel): void {
  model.csiDrivers.forEach((driver, index) => {
    chart.node(`csi${index}`, `CSI driver ${model.csiDriverNames.join(', ') || 'without CSIDriver'} (${describe(driver.pod.source.doc)})<br/>serves ${driver.servedDir}`);
    model.agents.forEach((agent, agentIndex) => (csiDriverServesAgentSocket(agent, driver)
      ? chart.edge(`agent${agentIndex}`, `csi${index}`, 'socket directory')
      : chart.edge(`agent${agentIndex}`, `csi${index}`, 'socket directory not shared', true)));
  });
}

/** One node per template that renders alike in every Istio source, named with those sources. */
function templates(chart: Flowchart, model: MeshModel, workloads: WorkloadIdentity[], workloadIds: Map<PodTemplate, string>): void {
  const alike = new Map<string, TemplateWiring[]>();
  for (const template of injectionTemplates(model)) {
    const key = JSON.stringify([template.name, template.driver, template.mountPath]);
    alike.set(key, [...(alike.get(key) ?? []), template]);
  }
  [...alike.values()].forEach((group, index) => {
    const [template] = group;
    const id = `tpl${index}`;
    chart.node(id, `template ${template.name} (${group.map((member) => describe(member.istio.source.doc)).join(', ')})<br/>${template.driver} at ${template.mountPath ?? 'no mount'}`, '[(', ')]');
    const served = model.csiDriverNames.includes(template.driver);
    model.csiDrivers.forEach((_, driverIndex) => chart.edge(`csi${driverIndex}`, id, served ? template.driver : `${template.driver}, not this driver`, !served));
    workloads.filter((entry) => entry.templates.includes(template.name)).forEach((entry) => chart.edge(id, workloadIds.get(entry.pod)!, 'injects'));
  });
}

function policies(chart: Flowchart, model: MeshModel, workloadIds: Map<PodTemplate, string>): void {
  authorizations(model).forEach((policy, index) => {
    const id = `ap${index}`;
    chart.node(id, `${policy.policy}<br/>${policy.action}`, '{{', '}}');
    for (const { principal, pods } of policy.principals) {
      pods.forEach((pod) => chart.edge(workloadIds.get(pod)!, id, `may call as ${principal}`));
    }
    policy.guarded.forEach((pod) => chart.edge(id, workloadIds.get(pod)!, 'guards'));
  });
}

function routes(chart: Flowchart, objects: ManifestObject[], model: MeshModel, workloadIds: Map<PodTemplate, string>): void {
  const pods = [...workloadIds.keys()];
  ingressRoutes(objects).forEach((route, index) => {
    const id = `route${index}`;
    chart.node(id, `${route.route}<br/>${route.hosts.join(', ')} via Gateway ${route.gatewayReference}`, '([', '])');
    gatewayPods(pods, route.gateway).forEach((pod) => chart.edge(workloadIds.get(pod)!, id, 'serves'));
    destinationPods(model, route, pods).forEach((pod) => chart.edge(id, workloadIds.get(pod)!, 'routes to'));
  });
}
