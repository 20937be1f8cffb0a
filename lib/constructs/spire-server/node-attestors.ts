import { NodeAttestor, NodeAttestorModel } from '../../config/node-attestor';
import { Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { secretMounts, ServerBinding, ServerContribution, ServerPart } from './part';

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

/** SPIRE loads each plugin of a type once; a second one of the same name is a second configuration of the first. */
export function checkUniquePlugins(names: string[], type: string): Problem | undefined {
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length === 0) return undefined;
  return {
    value: repeated.join(', '),
    rule: `SPIRE runs one ${type} plugin of each name, so the same plugin cannot be listed twice`,
    fix: 'list each plugin once, with all its options in one factory call',
  };
}
