import { BundlePublisher, BundlePublisherModel } from '../../config/bundle-publisher';
import { Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { checkUniquePlugins, ServerBinding, ServerContribution, ServerPart } from './part';

/**
 * The places the server publishes its trust bundle to besides the agents'
 * ConfigMap, which the agent attestation part renders.
 */
export class BundlePublishers implements ServerPart {
  private readonly models: BundlePublisherModel[];

  constructor(publishers: BundlePublisher[]) {
    this.models = publishers.map((publisher) => publisher._model());
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      config: () => ({ bundlePublishers: this.models }),
      checks: () => [
        ['bundlePublishers', checkUniquePlugins(this.models.map((model) => model.pluginName), 'BundlePublisher')],
        ...this.models.map((model): Check => ['bundlePublishers', checkRootCount(model, server.upstreamSigned)]),
        ...this.models.flatMap((model) => model.checks.map(([what, problem]): Check => [`bundlePublishers.${what}`, problem])),
      ],
    };
  }
}

/**
 * A self-signed server's bundle holds its current and next CA, and expired
 * ones for a day after they expire; an upstream authority's roots do not rotate with them.
 */
function checkRootCount(model: BundlePublisherModel, upstreamSigned: boolean): Problem | undefined {
  if (!model.needsUpstreamAuthority || upstreamSigned) return undefined;
  return {
    value: model.pluginName,
    rule: 'the destination holds at most two CAs, and the bundle of a self-signed server holds more during every CA rotation, so publishing fails',
    fix: 'set upstreamAuthority, whose roots the bundle then holds',
  };
}
