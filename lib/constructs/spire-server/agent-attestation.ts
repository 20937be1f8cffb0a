import * as kplus from 'cdk8s-plus-27';
import { registeredAgent } from './agent-registration';
import { ServerBinding, ServerContribution, ServerPart } from './part';

/**
 * The agents the server attests with `k8s_psat` (their service account's
 * projected token, for the server's audience) and publishes its trust bundle
 * to. The agent registers once the server exists, so its blocks of
 * server.conf are rendered at synth.
 */
export class AgentAttestation implements ServerPart {
  constructor(private readonly psatAudience: string) {}

  public bind(server: ServerBinding): ServerContribution {
    return {
      config: () => {
        const agent = registeredAgent(server.scope);
        if (!agent) {
          throw new Error(`${server.scope.node.path}: no agent is registered, so the server would attest no node and publish no bundle. Fix: create a SpireAgentDaemonSet with \`server\` set to this SpireServer.`);
        }
        return { agentServiceAccount: agent.serviceAccount, psatAudience: this.psatAudience, bundle: agent.bundle };
      },
      // k8s_psat validates agent tokens and reads the agent's pod and node by name.
      clusterRules: [
        { verbs: ['create'], resources: [kplus.ApiResource.TOKEN_REVIEWS] },
        { verbs: ['get'], resources: [kplus.ApiResource.PODS, kplus.ApiResource.NODES] },
      ],
      checks: () => [['agent', registeredAgent(server.scope) ? undefined : {
        value: 'none',
        rule: 'no SpireAgentDaemonSet is registered, so no node can attest and no trust bundle is published',
        fix: 'create a SpireAgentDaemonSet with `server` set to this SpireServer',
      }]],
    };
  }
}
