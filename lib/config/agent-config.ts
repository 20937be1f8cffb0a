import { renderFederatedSds } from './federation-config';
import { TrustBundleRef } from './server-config';
import { PrometheusEndpoint } from './metrics';
import { HealthChecks, LogLevel, PluginSection, plugin, renderHealthChecks, renderTelemetry } from './spire-config';
import { requireProps } from '../validation/required';

/** How the `k8s` workload attestor trusts the kubelet's serving certificate. */
export class KubeletVerification {
  /** No verification. Works on kind and kubeadm, whose kubelets serve self-signed certificates. */
  public static skip(): KubeletVerification {
    return new KubeletVerification(false);
  }

  /**
   * Verify against the cluster CA the agent's service account token mount
   * carries; needs kubelet serving certificates signed by the cluster CA
   * (kubelet `serverTLSBootstrap: true` and approved CSRs).
   */
  public static clusterCa(): KubeletVerification {
    return new KubeletVerification(true);
  }

  /** Verify against a CA bundle file on every node, e.g. `/var/lib/kubelet/pki/kubelet-ca.crt`, mounted read-only. */
  public static hostCa(hostPath: string): KubeletVerification {
    requireProps('KubeletVerification.hostCa', { hostPath }, [['hostPath', 'string', 'the CA bundle\'s path on every node, e.g. "/var/lib/kubelet/pki/kubelet-ca.crt"']]);
    return new KubeletVerification(true, hostPath);
  }

  /**
   * @param verify whether the kubelet's certificate is verified at all
   * @param hostPath the node file holding the CA bundle, when not the cluster CA
   */
  private constructor(public readonly verify: boolean, public readonly hostPath?: string) {}
}

export interface AgentConfigModel {
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly socketPath: string;
  readonly adminSocketPath?: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly trustBundlePath: string;
  readonly bundle: TrustBundleRef;
  readonly psatTokenPath: string;
  readonly kubeletVerification: KubeletVerification;
  /** Path inside the agent container where a `hostCa` bundle is mounted. */
  readonly kubeletCaMountPath: string;
  readonly nodeNameEnv: string;
  readonly disableContainerSelectors: boolean;
  readonly unixAttestor: boolean;
  readonly health: HealthChecks;
  /** Undefined: no metrics endpoint. */
  readonly prometheus?: PrometheusEndpoint;
  /** Serve Istio's proxies the federated bundles with their own (SDS names). */
  readonly federatedSds: boolean;
}

/** The agent's `agent.conf`, as JSON that SPIRE reads as HCL. */
export function renderAgentConfig(model: AgentConfigModel): object {
  const plugins: Record<string, PluginSection> = {
    KeyManager: plugin('memory', {}),
    NodeAttestor: plugin('k8s_psat', { cluster: model.clusterName, token_path: model.psatTokenPath }),
    WorkloadAttestor: [
      ...plugin('k8s', {
        ...renderKubeletVerification(model),
        node_name_env: model.nodeNameEnv,
        disable_container_selectors: model.disableContainerSelectors,
      }),
      ...(model.unixAttestor ? plugin('unix', {}) : []),
    ],
  };
  return {
    agent: {
      data_dir: model.dataDir,
      log_level: model.logLevel,
      server_address: model.serverAddress,
      server_port: String(model.serverPort),
      socket_path: model.socketPath,
      ...(model.adminSocketPath === undefined ? {} : { admin_socket_path: model.adminSocketPath }),
      trust_bundle_path: model.trustBundlePath,
      trust_bundle_format: model.bundle.format,
      trust_domain: model.trustDomain,
      ...(model.federatedSds ? renderFederatedSds() : {}),
    },
    plugins,
    health_checks: renderHealthChecks(model.health),
    ...renderTelemetry(model.prometheus),
  };
}

function renderKubeletVerification(model: AgentConfigModel): object {
  const { verify, hostPath } = model.kubeletVerification;
  return {
    skip_kubelet_verification: !verify,
    ...(hostPath === undefined ? {} : { kubelet_ca_path: model.kubeletCaMountPath }),
  };
}
