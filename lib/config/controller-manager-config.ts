import { PrometheusEndpoint } from './metrics';

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
  /** Undefined: metrics off. */
  readonly metrics?: PrometheusEndpoint;
  readonly watchClassless: boolean;
  /** Omitted: the controller manager's own default. */
  readonly parentIdTemplate?: string;
}

/** The SPIRE Controller Manager's `ControllerManagerConfig` file (YAML, written as JSON). */
export function renderControllerManagerConfig(model: ControllerManagerConfigModel): object {
  return {
    apiVersion: 'spire.spiffe.io/v1alpha1',
    kind: 'ControllerManagerConfig',
    metrics: { bindAddress: renderMetricsBindAddress(model.metrics) },
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

// controller-runtime serves no metrics for the bind address "0".
function renderMetricsBindAddress(metrics: PrometheusEndpoint | undefined): string {
  return metrics === undefined ? '0' : `${metrics.host}:${metrics.port}`;
}
