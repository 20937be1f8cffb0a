import { NodeAttestor, NodeAttestorModel } from '../../config/node-attestor';
import { Check } from '../../validation/validate';
import { checkUniquePlugins, secretMounts, ServerBinding, ServerContribution, ServerPart } from './part';

/**
 * The node attestors for agents outside the cluster, besides `k8s_psat`,
 * which the agent attestation part renders. Their files from Secrets are
 * mounted read-only into spire-server.
 */
export class NodeAttestors implements ServerPart {
  private readonly models: NodeAttestorModel[];

  constructor(attestors: NodeAttestor[]) {
    this.models = attestors.map((attestor) => attestor._model());
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      config: () => ({ nodeAttestors: this.models }),
      mounts: secretMounts(server, 'node-attestor', this.models.flatMap((model) => model.secretVolumes)),
      checks: () => [
        ['nodeAttestors', checkUniquePlugins(this.models.map((model) => model.pluginName), 'NodeAttestor')],
        ...this.models.flatMap((model) => model.checks.map(([what, problem]): Check => [`nodeAttestors.${what}`, problem])),
      ],
    };
  }
}
