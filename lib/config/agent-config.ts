import { ISTIO_ROOT_CA_RESOURCE } from '../istio/names';
import { SdsModel, SPIRE_SDS_DEFAULTS } from '../spire/sds';
import { TrustBundleRef } from './server-config';
import { PrometheusEndpoint } from './metrics';
import { definedOnly, HealthChecks, LogLevel, PluginSection, plugin, renderHealthChecks, renderTelemetry } from './spire-config';
import { requireProps } from '../validation/required';
import { LogFormat } from './log-format';

/** Experimental agent settings (SPIRE's `experimental` block); they may change or go in any SPIRE release. */
export interface AgentExperimentalOptions {
  /**
   * How often the agent syncs its entries and SVIDs with the server (`sync_interval`, Go duration):
   * a new pod's entry reaches its agent up to this late. SPIRE's 5s is kept: 1s saved a lone new
   * pod about half a second, cost each agent 0.5 % of a core and the server a sync per node per
   * second (docs/performance.md, "Identity at scale on the node").
   * @default SPIRE's, 5s
   */
  readonly syncInterval?: string;
  /** Accept only TLS key exchanges with a post-quantum KEM towards the server (`require_pq_kem`). @default false */
  readonly requirePqKem?: boolean;
  /** SPIRE feature flags to turn on (`feature_flags`); SPIRE refuses names it does not know. @default none */
  readonly featureFlags?: string[];
}

/** Whether the agent attests again from its bootstrap bundle once the server presents a certificate it does not trust (`rebootstrap_mode`). */
export enum RebootstrapMode {
  /** Never: an agent that lost trust in the server needs its data deleted by hand. */
  NEVER = 'never',
  /** When the node attestor supports it (k8s_psat does); otherwise as NEVER. */
  AUTO = 'auto',
  /** Always; the agent fails to start if its node attestor or the server cannot re-attest. */
  ALWAYS = 'always',
}

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

/**
 * The permission the agent's `k8s` workload attestor asks its kubelet for the
 * node's pods with (the kubelet's `/pods` API, authorized by the API server).
 */
export enum KubeletPodsPermission {
  /**
   * `get nodes/proxy`: every kubelet authorizes `/pods` with it. It also
   * authorizes the rest of the kubelet API, exec and logs of every pod on the node included.
   */
  NODES_PROXY = 'nodes/proxy',
  /**
   * `get nodes/pods`, the fine-grained permission for `/pods` only. Kubelets
   * ask for it first from Kubernetes 1.33 on (feature gate
   * KubeletFineGrainedAuthz, on by default); older kubelets or ones with the
   * gate off refuse the agent and no pod is attested.
   */
  NODES_PODS = 'nodes/pods',
}

/**
 * Envoy SDS settings of the SPIRE agent (its `sds` block). SPIRE serves a
 * workload's roots under two validation context names: its own trust
 * domain's bundle (`default_bundle_name`) and that bundle with the federated
 * ones (`default_all_bundles_name`). istio-proxy asks for "ROOTCA" only, so
 * one of the two must be "ROOTCA", with federation the second; and they must
 * differ, or SPIRE ignores the second.
 */
export interface AgentSdsOptions {
  /**
   * Name of the own trust domain's bundle (`default_bundle_name`).
   * @default "ROOTCA", SPIRE's and Istio's; with federation "null", a name no proxy asks for
   */
  readonly defaultBundleName?: string;
  /**
   * Name of all bundles, the federated ones included (`default_all_bundles_name`).
   * @default "ALL", SPIRE's; with federation "ROOTCA", so that Istio's proxies validate federated peers
   */
  readonly defaultAllBundlesName?: string;
  /**
   * Leave the SPIFFE certificate validator out of the validation contexts,
   * so that Envoy validates peers by plain X.509 chains
   * (`disable_spiffe_cert_validation`). Refused with federation: a partner's
   * CA could then vouch for IDs of this trust domain.
   * @default false, SPIRE's
   */
  readonly disableSpiffeCertValidation?: boolean;
}

/**
 * The SDS settings an agent serves with. With federation, all bundles go
 * under the name Istio asks for, and the own bundle alone under one it never
 * asks for.
 */
export function resolveSds(options: AgentSdsOptions, federated: boolean): SdsModel {
  return {
    bundleName: options.defaultBundleName ?? (federated ? 'null' : SPIRE_SDS_DEFAULTS.bundleName),
    allBundlesName: options.defaultAllBundlesName ?? (federated ? ISTIO_ROOT_CA_RESOURCE : SPIRE_SDS_DEFAULTS.allBundlesName),
    disableSpiffeCertValidation: options.disableSpiffeCertValidation ?? SPIRE_SDS_DEFAULTS.disableSpiffeCertValidation,
  };
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
  /** Undefined: SPIRE's own, text. */
  readonly logFormat?: LogFormat;
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
  /** Undefined: no DogStatsd sink. */
  readonly dogStatsdAddress?: string;
  readonly sds: SdsModel;
  /** Undefined: SPIRE's own soft limit (1000). */
  readonly x509SvidCacheMaxSize?: number;
  /** Undefined: SVIDs are rotated at half their lifetime. */
  readonly availabilityTarget?: string;
  /** Undefined: SPIRE's own, never. */
  readonly rebootstrapMode?: RebootstrapMode;
  /** Undefined: SPIRE's own, 10m. */
  readonly rebootstrapDelay?: string;
  /** Undefined or empty: no Delegated Identity API callers. */
  readonly authorizedDelegates?: string[];
  /** Undefined: the `k8s` attestor's own, true. */
  readonly useNewContainerLocator?: boolean;
  /** Undefined: the `k8s` attestor's own, false. */
  readonly verboseContainerLocatorLogs?: boolean;
  readonly experimental?: AgentExperimentalOptions;
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
        ...definedOnly({ use_new_container_locator: model.useNewContainerLocator, verbose_container_locator_logs: model.verboseContainerLocatorLogs }),
      }),
      ...(model.unixAttestor ? plugin('unix', {}) : []),
    ],
  };
  return {
    agent: {
      data_dir: model.dataDir,
      log_level: model.logLevel,
      ...(model.logFormat === undefined ? {} : { log_format: model.logFormat }),
      server_address: model.serverAddress,
      server_port: String(model.serverPort),
      socket_path: model.socketPath,
      ...(model.adminSocketPath === undefined ? {} : { admin_socket_path: model.adminSocketPath }),
      trust_bundle_path: model.trustBundlePath,
      trust_bundle_format: model.bundle.format,
      trust_domain: model.trustDomain,
      ...renderSds(model.sds),
      ...(model.x509SvidCacheMaxSize === undefined ? {} : { x509_svid_cache_max_size: model.x509SvidCacheMaxSize }),
      ...(model.availabilityTarget === undefined ? {} : { availability_target: model.availabilityTarget }),
      ...(model.rebootstrapMode === undefined ? {} : { rebootstrap_mode: model.rebootstrapMode }),
      ...(model.rebootstrapDelay === undefined ? {} : { rebootstrap_delay: model.rebootstrapDelay }),
      ...((model.authorizedDelegates ?? []).length === 0 ? {} : { authorized_delegates: model.authorizedDelegates }),
      ...renderExperimental(model.experimental),
    },
    plugins,
    health_checks: renderHealthChecks(model.health),
    ...renderTelemetry(model.prometheus, model.dogStatsdAddress),
  };
}

/** The `experimental` block with what is set; nothing set, no block. */
function renderExperimental(experimental: AgentExperimentalOptions | undefined): object {
  const block = definedOnly({
    sync_interval: experimental?.syncInterval,
    require_pq_kem: experimental?.requirePqKem,
    feature_flags: (experimental?.featureFlags ?? []).length === 0 ? undefined : experimental?.featureFlags,
  });
  return Object.keys(block).length === 0 ? {} : { experimental: block };
}

function renderKubeletVerification(model: AgentConfigModel): object {
  const { verify, hostPath } = model.kubeletVerification;
  return {
    skip_kubelet_verification: !verify,
    ...(hostPath === undefined ? {} : { kubelet_ca_path: model.kubeletCaMountPath }),
  };
}

/** The `sds` block with the settings that differ from SPIRE's own; none differing, no block. */
function renderSds(sds: SdsModel): object {
  const differing = {
    ...(sds.bundleName === SPIRE_SDS_DEFAULTS.bundleName ? {} : { default_bundle_name: sds.bundleName }),
    ...(sds.allBundlesName === SPIRE_SDS_DEFAULTS.allBundlesName ? {} : { default_all_bundles_name: sds.allBundlesName }),
    ...(sds.disableSpiffeCertValidation === SPIRE_SDS_DEFAULTS.disableSpiffeCertValidation ? {} : { disable_spiffe_cert_validation: sds.disableSpiffeCertValidation }),
  };
  return Object.keys(differing).length === 0 ? {} : { sds: differing };
}
