/**
 * A model of `kubectl drain` against rendered objects: evictions as a
 * PodDisruptionBudget allows them, and the scheduler's topology spread filter
 * (required constraints, taints honoured, so a cordoned node is no domain)
 * placing each evicted replica. Enough to tell whether a drain finishes.
 */
export interface ModelNode {
  readonly name: string;
  /** Replicas the node can still take. */
  readonly room: number;
  readonly zone?: string;
}

export interface DrainScenario {
  readonly nodes: ModelNode[];
  /** The node of each replica before the drain. */
  readonly placement: string[];
  /** Whether the replicas, and those started during the drain, are ready. */
  readonly ready?: boolean;
  readonly constraints: any[];
  readonly budget: any;
}

interface ModelPod { node?: string; ready: boolean }

/** Drains a node; the placement after it, or undefined when the drain stops. */
export function drain(nodeName: string, scenario: DrainScenario): string[] | undefined {
  const ready = scenario.ready ?? true;
  const pods: ModelPod[] = scenario.placement.map((node) => ({ node, ready }));
  const room = new Map(scenario.nodes.map((node) => [node.name, node.room]));
  const schedulable = scenario.nodes.filter((node) => node.name !== nodeName);
  for (;;) {
    const onNode = pods.filter((pod) => pod.node === nodeName);
    if (onNode.length === 0) return pods.map((pod) => pod.node ?? 'Pending');
    const evicted = onNode.find((pod) => mayEvict(pod, pods, scenario.budget));
    if (evicted === undefined) return undefined;
    evicted.node = undefined;
    evicted.ready = false;
    for (const pending of pods.filter((pod) => pod.node === undefined)) {
      const target = schedulable.find((node) => (room.get(node.name) ?? 0) > 0 && fitsSpread(node, pods, schedulable, scenario.constraints));
      if (target === undefined) continue;
      pending.node = target.name;
      pending.ready = ready;
      room.set(target.name, (room.get(target.name) ?? 0) - 1);
    }
  }
}

function mayEvict(pod: ModelPod, pods: ModelPod[], budget: any): boolean {
  if (!pod.ready && budget.spec.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
  const healthyAfter = pods.filter((other) => other.ready && other !== pod).length;
  return healthyAfter >= pods.length - budget.spec.maxUnavailable;
}

function fitsSpread(node: ModelNode, pods: ModelPod[], nodes: ModelNode[], constraints: any[]): boolean {
  return constraints.filter((constraint) => constraint.whenUnsatisfiable === 'DoNotSchedule').every((constraint) => {
    const domainOf = (candidate: ModelNode) => (constraint.topologyKey === 'kubernetes.io/hostname' ? candidate.name : candidate.zone);
    const domains = [...new Set(nodes.map(domainOf).filter((domain): domain is string => domain !== undefined))];
    const count = (domain: string) => pods.filter((pod) => nodes.some((other) => other.name === pod.node && domainOf(other) === domain)).length;
    const domain = domainOf(node);
    if (domain === undefined) return false;
    return count(domain) + 1 - Math.min(...domains.map(count)) <= constraint.maxSkew;
  });
}
