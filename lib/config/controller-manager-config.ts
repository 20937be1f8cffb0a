export interface ControllerManagerConfigModel {
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly clusterDomain: string;
  readonly className: string;
  readonly serverSocketPath: string;
  readonly ignoreNamespaces: readonly string[];
  readonly webhookConfigurationName: string;
  readonly leaderElectionNamespace: string;
  readonly healthPort: number;
  readonly metricsPort: number;
  readonly watchClassless: boolean;
  /** Omitted: the controller manager's own default. */
  readonly parentIdTemplate?: string;
}

/** The SPIRE Controller Manager's `ControllerManagerConfig` file (YAML, written as JSON). */
export function renderControllerManagerConfig(model: ControllerManagerConfigModel): object {
  return {
    apiVersion: 'spire.spiffe.io/v1alpha1',
    kind: 'ControllerManagerConfig',
    metrics: { bindAddress: `127.0.0.1:${model.metricsPort}` },
    health: { healthProbeBindAddress: `0.0.0.0:${model.healthPort}` },
    leaderElection: {
      leaderElect: true,
      resourceName: `${model.className}-controller-manager`,
      resourceNamespace: model.leaderElectionNamespace,
    },
    validatingWebhookConfigurationName: model.webhookConfigurationName,
    clusterName: model.clusterName,
    clusterDomain: model.clusterDomain,
    trustDomain: model.trustDomain,
    className: model.className,
    watchClassless: model.watchClassless,
    ignoreNamespaces: [...model.ignoreNamespaces],
    ...(model.parentIdTemplate === undefined ? {} : { parentIDTemplate: model.parentIdTemplate }),
    spireServerSocketPath: model.serverSocketPath,
  };
}
