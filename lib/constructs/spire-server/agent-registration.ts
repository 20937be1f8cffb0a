import { IConstruct } from 'constructs';
import { ServiceAccountRef, TrustBundleRef } from '../../config/server-config';

/** What an agent tells the server so that it can attest the agent and publish the bundle to it. */
export interface AgentRegistration {
  readonly serviceAccount: ServiceAccountRef;
  readonly bundle: TrustBundleRef;
}

const agentsByServer = new WeakMap<IConstruct, AgentRegistration>();

/**
 * Authorizes an agent's service account for `k8s_psat` attestation by the
 * server and has the server publish its trust bundle where the agent reads it.
 */
export function registerAgent(server: IConstruct, agent: AgentRegistration): void {
  const registered = agentsByServer.get(server);
  if (registered) {
    throw new Error(`${server.node.path}: an agent is already registered (${registered.serviceAccount.namespace}:${registered.serviceAccount.name}). Fix: create one SpireAgentDaemonSet per SpireServer.`);
  }
  agentsByServer.set(server, agent);
}

/** The agent registered with a server, if one is. */
export function registeredAgent(server: IConstruct): AgentRegistration | undefined {
  return agentsByServer.get(server);
}
