import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';

/** The SPIRE agents' pod, which the SPIFFE CSI driver's containers join. */
export interface AgentPod {
  readonly daemonSet: kplus.DaemonSet;
  /** The node directory volume holding the Workload API socket. */
  readonly socketVolume: kplus.Volume;
}

// Kept out of the agent's public members, so that no cdk8s-plus type reaches the library's API.
const agentPods = new WeakMap<IConstruct, AgentPod>();

export function recordAgentPod(agent: IConstruct, pod: AgentPod): void {
  agentPods.set(agent, pod);
}

export function agentPodOf(agent: IConstruct): AgentPod {
  const pod = agentPods.get(agent);
  if (!pod) throw new Error(`${agent.node.path}: not a SpireAgentDaemonSet of this library. Fix: pass the SpireAgentDaemonSet the CSI driver serves.`);
  return pod;
}
