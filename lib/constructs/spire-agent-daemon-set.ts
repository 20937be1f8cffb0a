import { ApiObject, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AgentExperimentalOptions, AgentSdsOptions, KubeletPodsPermission, KubeletVerification, RebootstrapMode, renderAgentConfig, resolveSds } from '../config/agent-config';
import { SdsModel } from '../spire/sds';
import { dogStatsdAddress, Metrics, MetricsTarget } from '../config/metrics';
import { BundleFormat, TrustBundleRef } from '../config/server-config';
import { DEFAULT_HEALTH_CHECKS, LogLevel, renderJson } from '../config/spire-config';
import { LogFormat } from '../config/log-format';
import { agentPodOf, recordAgentPod } from '../kube/agent-pod';
import { annotateConfigChecksum, CONFIG_CHECKSUM_ANNOTATION } from '../kube/config-checksum';
import { applyUpdateStrategy, checkMaxUnavailable, DaemonSetUpdateStrategy } from '../kube/daemon-set-update-strategy';
import { probeTimingChecks, WorkloadProbeOptions } from '../kube/probe';
import { addPodMetadata, OwnPodMetadata, podMetadataChecks } from '../kube/pod-metadata';
import { annotateScrape, metricsChecks, SCRAPE_ANNOTATIONS, withMetricsPort } from '../kube/metrics-endpoint';
import {
  applyContainerResources, applyPodSpecSettings, ContainerResourceSpec, PodMetadataOptions, PodPlacementOptions, PodPriority, podSpecChecks, resourceChecks, TolerationSpec,
} from '../kube/pod-settings';
import { httpProbe, podSecurityLabels, resources, rootWithoutCapabilities } from '../kube/container-defaults';
import { DefaultImages } from '../spire/images';
import { checkAgentServerSkew } from '../spire/version-skew';
import { ISTIO_ROOT_CA_RESOURCE, ISTIO_WORKLOAD_SOCKET_DIRS } from '../istio/names';
import { addProjectedServiceAccountToken, dropAddressLabel, enableHostPid, useRuntimeDefaultSeccomp } from '../kube/objects';
import { checkAbsolutePath, checkDnsLabel, checkGoDuration, checkImageRegistry, checkPinnedImage, checkSpiffeId, formatGoDuration, goDurationSeconds, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { ClusterFederatedTrustDomain } from './cluster-federated-trust-domain';
import { registerAgent } from './spire-server/agent-registration';
import { type ISpireServer, SPIRE_SERVER_KIND } from './spire-server/reference';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

/** Where the agent serves the SPIFFE Workload API, on the node and inside the agent container. */
export interface WorkloadApiSocket {
  /** Directory on the node that holds the socket; the CSI driver serves this directory to pods. */
  readonly hostDir: string;
  /** The same directory as mounted in the agent container. */
  readonly dir: string;
  /** File name of the socket inside the directory. */
  readonly fileName: string;
  /** `dir` + `fileName`: the agent's `socket_path`. */
  readonly path: string;
}

/** Settings of a SPIRE agent besides the server it attests to. */
export interface SpireAgentOptions extends PodPlacementOptions {
  /** Namespace of the agent and the CSI driver; it must allow privileged pods. @default the name */
  readonly namespace?: string;
  /** Name of the DaemonSet and its service account. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /**
   * Directory the Workload API socket is served from, inside the agent. It is
   * also where istio-proxy looks for it. @default "/run/secrets/workload-spiffe-uds"
   */
  readonly socketDir?: string;
  /** Socket file name; Istio's default is "socket". @default "socket" */
  readonly socketFileName?: string;
  /** Directory on each node shared with the CSI driver. @default "/run/spire/agent-sockets" */
  readonly hostSocketDir?: string;
  /** How the `k8s` workload attestor trusts the kubelet. @default KubeletVerification.skip() */
  readonly kubeletVerification?: KubeletVerification;
  /**
   * What the agent's ClusterRole grants for asking the kubelet about pods.
   * `NODES_PODS` is the least privilege on Kubernetes 1.33 and later.
   * @default KubeletPodsPermission.NODES_PROXY, which every kubelet accepts
   */
  readonly kubeletPodsPermission?: KubeletPodsPermission;
  /** Also run the `unix` workload attestor. @default false */
  readonly unixAttestor?: boolean;
  /**
   * Serve the agent's admin API on a socket in this directory (never the public
   * Workload API directory). @default no admin socket
   */
  readonly adminSocketDir?: string;
  /**
   * Attest pods without container selectors; needed when Istio holds the
   * application until the proxy has started (`holdApplicationUntilProxyStarts`). @default false
   */
  readonly disableContainerSelectors?: boolean;
  /** @default "INFO" */
  readonly logLevel?: LogLevel;
  /** @default LogFormat.TEXT, SPIRE's; LogFormat.JSON for log pipelines that parse fields */
  readonly logFormat?: LogFormat;
  /**
   * Prometheus metrics of the agent (SPIRE's `telemetry` block), on a named
   * container port, with the `prometheus.io/*` scrape annotations on the pod.
   * @default the server's metrics
   */
  readonly metrics?: Metrics;
  /**
   * PriorityClass of the agent pods: the node's pods get no identity without
   * them. Kubernetes admits the built-in critical classes in any namespace;
   * some providers (GKE) want a ResourceQuota in the namespace that allows them.
   * @default PodPriority.SYSTEM_NODE_CRITICAL
   */
  readonly priority?: PodPriority;
  /** Taints the agent pods tolerate; every node that runs workloads needs an agent. @default every taint */
  readonly tolerations?: TolerationSpec[];
  /** Resources of the spire-agent container. @default requests cpu 50m, memory 64Mi; limits memory 256Mi */
  readonly resources?: ContainerResourceSpec;
  /** Registry the default images of the agent and its CSI driver are pulled from (see SpireServer's). @default the server's imageRegistry */
  readonly imageRegistry?: string;
  /** @default DefaultImages.SPIRE_AGENT, from `imageRegistry` when set */
  readonly image?: string;
  /**
   * Envoy SDS names and validation (SPIRE's `sds` block). Istio's proxies ask
   * for "default" (their certificate, SPIRE's default name, which is not
   * offered as a setting) and "ROOTCA" (the roots); only what differs from
   * SPIRE's own settings is written.
   * @default SPIRE's names, which are Istio's; with a ClusterFederatedTrustDomain of the server, all bundles under "ROOTCA" and the own bundle alone under "null"
   */
  readonly sds?: AgentSdsOptions;
  /**
   * Soft limit of X509-SVIDs the agent caches (`x509_svid_cache_max_size`);
   * SVIDs of running workloads stay cached beyond it. Raise it for nodes with
   * more registration entries than that.
   * @default SPIRE's own, 1000
   */
  readonly x509SvidCacheMaxSize?: number;
  /**
   * How long the node's workloads must keep working while the SPIRE server or
   * agent is down (`availability_target`, Go duration, at least 24h): the
   * agent renews an X509-SVID once its remaining lifetime reaches it. It needs
   * SVIDs living at least 12h longer, so the server's `x509SvidTtl` must be at
   * least this plus 12h, and its `caTtl` six times that (SPIRE cuts SVIDs at the
   * CA's rotation); ClusterSPIFFEIDs with a shorter `ttl` keep the default
   * rotation.
   * @default none: SVIDs are renewed at half their lifetime
   */
  readonly availabilityTarget?: string;
  /**
   * Let an agent that no longer trusts the server (its CA was replaced, e.g.
   * after a `KeyManager.memory()` server restarted, or the agent was offline
   * longer than the bundle's keys lived) attest again from the bundle in the
   * `spire-bundle` ConfigMap (`rebootstrap_mode`).
   * @default SPIRE's, RebootstrapMode.NEVER: such an agent needs its pod deleted
   */
  readonly rebootstrapMode?: RebootstrapMode;
  /**
   * How long the agent keeps seeing an untrusted server before it attests
   * again (`rebootstrap_delay`, Go duration); longer rides out a
   * man-in-the-middle without needless re-attestation, shorter recovers
   * sooner. Needs `rebootstrapMode` AUTO or ALWAYS.
   * @default SPIRE's, 10m
   */
  readonly rebootstrapDelay?: string;
  /** Labels and annotations added to the agent's pods. @default none */
  readonly podMetadata?: PodMetadataOptions;
  /**
   * How the agent's pods, and the CSI driver in them, are replaced when their
   * template changes. While a node's pod is replaced, new pods there wait for
   * the socket; running workloads keep their SVIDs.
   * @default Kubernetes': DaemonSetUpdateStrategy.rollingUpdate(), one node at a time
   */
  readonly updateStrategy?: DaemonSetUpdateStrategy;
  /**
   * SPIFFE IDs of workloads that may fetch other workloads' SVIDs through
   * the Delegated Identity API on the admin socket (`authorized_delegates`),
   * e.g. a node proxy; needs `adminSocketDir`.
   * @default none
   */
  readonly authorizedDelegates?: string[];
  /**
   * Locate containers with the `k8s` attestor's cgroups v2 aware algorithm
   * (`use_new_container_locator`). @default the attestor's own, true
   */
  readonly useNewContainerLocator?: boolean;
  /** Log the mountinfo and cgroups the `k8s` attestor reads (`verbose_container_locator_logs`). @default false */
  readonly verboseContainerLocatorLogs?: boolean;
  /** Experimental settings (SPIRE's `experimental` block). @default none */
  readonly experimental?: AgentExperimentalOptions;
  /** Timing of the liveness probe, HTTP /live on the health port. @default every 30s, failing after 3 failures */
  readonly livenessProbe?: WorkloadProbeOptions;
  /** Timing of the readiness probe, HTTP /ready on the health port. @default every 10s, failing after 3 failures */
  readonly readinessProbe?: WorkloadProbeOptions;
}

export interface SpireAgentDaemonSetProps extends SpireAgentOptions {
  /** The server this agent attests to; trust domain, cluster name, address and bundle come from it. */
  readonly server: ISpireServer;
}

const CONFIG_DIR = '/run/spire/config';
const CONFIG_FILE = 'agent.conf';
const BUNDLE_DIR = '/run/spire/bundle';
const DATA_DIR = '/run/spire/data';
const TOKEN_DIR = '/var/run/secrets/tokens';
const TOKEN_FILE = 'spire-agent';
const KUBELET_CA_PATH = '/run/spire/kubelet-ca.crt';
// The attestor dials the kubelet at this address. The node's IP works without host networking;
// a node name would have to resolve in cluster DNS, which it does not on most clusters.
const KUBELET_HOST_ENV = 'KUBELET_HOST';

/**
 * The SPIRE agent on every node: attests itself with `k8s_psat`, attests
 * workloads with the `k8s` attestor and serves the Workload API on a socket in
 * a host directory that the SPIFFE CSI driver mounts into pods.
 */
export class SpireAgentDaemonSet extends Construct {
  public readonly server: ISpireServer;
  public readonly trustDomain: string;
  public readonly clusterName: string;
  public readonly namespace: string;
  public readonly workloadApi: WorkloadApiSocket;
  public readonly adminSocketPath?: string;
  public readonly bundle: TrustBundleRef;
  /** The ServiceAccount the agents run as. */
  public readonly serviceAccount: ApiObject;
  /** The agents' DaemonSet. */
  public readonly daemonSet: ApiObject;
  /** The registry the default images come from instead of their own, when set. */
  public readonly imageRegistry?: string;
  /** Labels of the agent pods. */
  public readonly podLabels: { [key: string]: string };
  public readonly metrics: Metrics;
  /** Name of the spire-agent container port serving metrics. */
  public readonly metricsPortName = 'metrics';

  private readonly name: string;
  private readonly props: SpireAgentDaemonSetProps;

  constructor(scope: Construct, id: string, props: SpireAgentDaemonSetProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['server', SPIRE_SERVER_KIND, 'the SpireServer the agents attest to'],
    ]);
    this.props = props;
    this.server = props.server;
    this.trustDomain = props.server.trustDomain;
    this.clusterName = props.server.clusterName;
    this.imageRegistry = props.imageRegistry ?? props.server.imageRegistry;
    this.name = props.name ?? defaultName(this);
    this.namespace = props.namespace ?? this.name;
    this.podLabels = { 'app.kubernetes.io/name': this.name };
    this.metrics = props.metrics ?? props.server.metrics;
    const dir = props.socketDir ?? ISTIO_WORKLOAD_SOCKET_DIRS[0];
    const fileName = props.socketFileName ?? 'socket';
    this.workloadApi = { hostDir: props.hostSocketDir ?? '/run/spire/agent-sockets', dir, fileName, path: `${dir}/${fileName}` };
    this.adminSocketPath = props.adminSocketDir === undefined ? undefined : `${props.adminSocketDir}/admin.sock`;
    this.bundle = { namespace: this.namespace, configMapName: 'spire-bundle', key: 'bundle.spiffe', format: BundleFormat.SPIFFE };

    new kplus.Namespace(this, 'Namespace', {
      metadata: { name: this.namespace, labels: podSecurityLabels('privileged') },
    });
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, namespace: this.namespace, annotations: props.serviceAccountAnnotations },
      automountToken: true,
    });
    const bundle = this.createBundleConfigMap();
    const config = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: this.name, namespace: this.namespace },
      data: { [CONFIG_FILE]: Lazy.any({ produce: () => this.configFiles()[CONFIG_FILE] }) },
    });
    const socketVolume = kplus.Volume.fromHostPath(this, 'SocketVolume', 'spire-agent-socket-dir', {
      path: this.workloadApi.hostDir,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    const daemonSet = this.createDaemonSet(serviceAccount, config, bundle, socketVolume);
    recordAgentPod(this, { daemonSet, socketVolume });
    this.daemonSet = ApiObject.of(daemonSet);
    this.serviceAccount = ApiObject.of(serviceAccount);
    this.grantPermissions(serviceAccount);
    registerAgent(props.server, {
      serviceAccount: { namespace: this.namespace, name: this.name },
      bundle: this.bundle,
    });
    validateAtSynth(this, () => this.checks());
  }

  /** The agent's configuration as SPIRE reads it. */
  public get agentConfig(): any {
    return renderAgentConfig({
      trustDomain: this.trustDomain,
      clusterName: this.clusterName,
      serverAddress: this.server.address,
      serverPort: this.server.port,
      socketPath: this.workloadApi.path,
      adminSocketPath: this.adminSocketPath,
      dataDir: DATA_DIR,
      logLevel: this.props.logLevel ?? LogLevel.INFO,
      logFormat: this.props.logFormat,
      trustBundlePath: `${BUNDLE_DIR}/${this.bundle.key}`,
      bundle: this.bundle,
      psatTokenPath: `${TOKEN_DIR}/${TOKEN_FILE}`,
      kubeletVerification: this.kubeletVerification,
      kubeletCaMountPath: KUBELET_CA_PATH,
      nodeNameEnv: KUBELET_HOST_ENV,
      disableContainerSelectors: this.props.disableContainerSelectors ?? false,
      unixAttestor: this.props.unixAttestor ?? false,
      health: DEFAULT_HEALTH_CHECKS,
      prometheus: this.metrics.endpoint,
      dogStatsdAddress: dogStatsdAddress(this.metrics.dogStatsdSink),
      sds: this.sdsSettings,
      x509SvidCacheMaxSize: this.props.x509SvidCacheMaxSize,
      availabilityTarget: this.props.availabilityTarget,
      rebootstrapMode: this.props.rebootstrapMode,
      rebootstrapDelay: this.props.rebootstrapDelay,
      authorizedDelegates: this.props.authorizedDelegates,
      useNewContainerLocator: this.props.useNewContainerLocator,
      verboseContainerLocatorLogs: this.props.verboseContainerLocatorLogs,
      experimental: this.props.experimental,
    });
  }

  /** The SDS settings the agent serves Istio's proxies with. */
  private get sdsSettings(): SdsModel {
    return resolveSds(this.props.sds ?? {}, this.federated);
  }

  /** Whether the server federates with another trust domain, whose bundles the proxies then need. */
  private get federated(): boolean {
    return ClusterFederatedTrustDomain.of(this.server).length > 0;
  }

  /** Where scrapers find the agents' metrics. */
  public get metricsTarget(): MetricsTarget {
    return {
      name: this.name,
      namespace: this.namespace,
      podLabels: this.podLabels,
      portNames: this.metrics.endpoint === undefined ? [] : [this.metricsPortName],
    };
  }

  /** The files of the config volume. */
  private configFiles(): { [name: string]: string } {
    return { [CONFIG_FILE]: renderJson(this.agentConfig) };
  }

  private get kubeletVerification(): KubeletVerification {
    return this.props.kubeletVerification ?? KubeletVerification.skip();
  }

  private get image(): string {
    return this.props.image ?? DefaultImages.fromRegistry(DefaultImages.SPIRE_AGENT, this.imageRegistry);
  }

  /**
   * The ConfigMap the server publishes its trust bundle to. The publisher
   * writes it with server-side apply, a patch that creates the ConfigMap again
   * if it was deleted; the API server authorizes that create by the name, so
   * both verbs are limited to this one ConfigMap.
   */
  private createBundleConfigMap(): kplus.ConfigMap {
    const bundle = new kplus.ConfigMap(this, 'Bundle', {
      metadata: { name: this.bundle.configMapName, namespace: this.namespace },
    });
    const role = new kplus.Role(this, 'BundlePublisherRole', {
      metadata: { name: `${this.server.serviceName}-bundle-publisher`, namespace: this.namespace },
    });
    role.allow(['patch', 'create'], bundle);
    const binding = new kplus.RoleBinding(this, 'BundlePublisherRoleBinding', {
      metadata: { name: `${this.server.serviceName}-bundle-publisher`, namespace: this.namespace },
      role,
    });
    binding.addSubjects(kplus.ServiceAccount.fromServiceAccountName(this, 'ServerServiceAccount', this.server.serviceAccountName, { namespaceName: this.server.namespace }));
    return bundle;
  }

  private createDaemonSet(serviceAccount: kplus.ServiceAccount, config: kplus.ConfigMap, bundle: kplus.ConfigMap, socketVolume: kplus.Volume): kplus.DaemonSet {
    const labels = this.podLabels;
    const daemonSet = new kplus.DaemonSet(this, 'DaemonSet', {
      metadata: { name: this.name, namespace: this.namespace },
      select: false,
      serviceAccount,
      // The `k8s` attestor authenticates to the kubelet with this token.
      automountServiceAccountToken: true,
      podMetadata: { labels },
      securityContext: { ensureNonRoot: false },
    });
    daemonSet.select(kplus.LabelSelector.of({ labels }));
    // Every node that runs injected pods needs the socket and the CSI driver, tainted ones too.
    daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));
    enableHostPid(daemonSet);
    dropAddressLabel(daemonSet);
    useRuntimeDefaultSeccomp(daemonSet);
    annotateConfigChecksum(daemonSet, () => this.configFiles());
    annotateScrape(daemonSet, this.metrics.endpoint);
    applyPodSpecSettings(daemonSet, { ...this.props, priority: this.props.priority ?? PodPriority.SYSTEM_NODE_CRITICAL });
    addPodMetadata(daemonSet, this.props.podMetadata, this.ownPodMetadata);
    applyUpdateStrategy(daemonSet, this.props.updateStrategy);

    const container = daemonSet.addContainer({
      name: 'spire-agent',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: ['-config', `${CONFIG_DIR}/${CONFIG_FILE}`],
      ports: withMetricsPort([{ name: 'agent-health', number: DEFAULT_HEALTH_CHECKS.port }], this.metricsPortName, this.metrics.endpoint),
      envVariables: { [KUBELET_HOST_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_IP) },
      liveness: httpProbe(DEFAULT_HEALTH_CHECKS.livePath, DEFAULT_HEALTH_CHECKS.port, 30, this.props.livenessProbe),
      readiness: httpProbe(DEFAULT_HEALTH_CHECKS.readyPath, DEFAULT_HEALTH_CHECKS.port, 10, this.props.readinessProbe),
      resources: resources({ cpuMillis: 50, memoryMiB: 64, memoryLimitMiB: 256 }),
      // Root without capabilities: it creates the socket in a root-owned node directory.
      securityContext: rootWithoutCapabilities(),
    });
    applyContainerResources(daemonSet, container.name, this.props.resources);
    container.mount(CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', config, { name: 'spire-config' }), { readOnly: true });
    container.mount(BUNDLE_DIR, kplus.Volume.fromConfigMap(this, 'BundleVolume', bundle, { name: 'spire-bundle' }), { readOnly: true });
    container.mount(DATA_DIR, kplus.Volume.fromEmptyDir(this, 'DataVolume', 'spire-agent-data'));
    container.mount(this.workloadApi.dir, socketVolume);
    if (this.props.adminSocketDir !== undefined) {
      container.mount(this.props.adminSocketDir, kplus.Volume.fromEmptyDir(this, 'AdminSocketVolume', 'spire-agent-admin-socket'));
    }
    const caHostPath = this.kubeletVerification.hostPath;
    if (caHostPath !== undefined) {
      container.mount(KUBELET_CA_PATH, kplus.Volume.fromHostPath(this, 'KubeletCaVolume', 'kubelet-ca', {
        path: caHostPath,
        type: kplus.HostPathVolumeType.FILE,
      }), { readOnly: true });
    }
    addProjectedServiceAccountToken(daemonSet, {
      volumeName: 'spire-token',
      containerIndex: 0,
      mountPath: TOKEN_DIR,
      tokenPath: TOKEN_FILE,
      audience: this.server.psatAudience,
      expirationSeconds: 7200,
    });
    return daemonSet;
  }

  private grantPermissions(serviceAccount: kplus.ServiceAccount): void {
    const clusterRole = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: `${this.namespace}-${this.name}` } });
    // The `k8s` workload attestor asks only the kubelet, never the API server.
    const kubeletPods = this.props.kubeletPodsPermission ?? KubeletPodsPermission.NODES_PROXY;
    clusterRole.allow(['get'], kplus.ApiResource.custom({ apiGroup: '', resourceType: kubeletPods }));
    const binding = new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${this.namespace}-${this.name}` },
      role: clusterRole,
    });
    binding.addSubjects(serviceAccount);
  }

  private checks(): Check[] {
    const caHostPath = this.kubeletVerification.hostPath;
    return [
      ['namespace', checkDnsLabel(this.namespace)],
      ['name', checkDnsLabel(this.name)],
      ['imageRegistry', this.props.imageRegistry === undefined ? undefined : checkImageRegistry(this.props.imageRegistry)],
      ['image', checkPinnedImage(this.image) ?? checkAgentServerSkew(this.image, this.server.image)],
      ...metricsChecks(this.metrics, agentPodOf(this).daemonSet, this.metricsPortName),
      ['socketDir', checkAbsolutePath(this.workloadApi.dir)],
      ['hostSocketDir', checkAbsolutePath(this.workloadApi.hostDir)],
      ['socketFileName', checkFileName(this.workloadApi.fileName)],
      ['adminSocketDir', this.checkAdminSocketDir()],
      ...podSpecChecks(this.props),
      ...resourceChecks('resources', this.props.resources),
      ['kubeletVerification.hostPath', caHostPath === undefined ? undefined : checkAbsolutePath(caHostPath)],
      ...this.sdsChecks(),
      ['x509SvidCacheMaxSize', this.checkCacheSize()],
      ['availabilityTarget', this.checkAvailabilityTarget()],
      ['rebootstrapDelay', this.checkRebootstrapDelay()],
      ...podMetadataChecks(this.props.podMetadata, this.ownPodMetadata),
      ['updateStrategy.maxUnavailable', checkMaxUnavailable(this.props.updateStrategy)],
      ...probeTimingChecks('livenessProbe', this.props.livenessProbe, true),
      ...this.authorizedDelegatesChecks(),
      ['experimental.syncInterval', this.props.experimental?.syncInterval === undefined ? undefined : checkGoDuration(this.props.experimental.syncInterval)],
      ...probeTimingChecks('readinessProbe', this.props.readinessProbe, false),
      ['namespace', this.namespace === this.server.namespace ? {
        value: this.namespace,
        rule: 'the agent needs a privileged namespace, the server a restricted one, so they cannot share it',
        fix: 'keep the agent in its own namespace, e.g. "spire-system"',
      } : undefined],
    ];
  }

  private sdsChecks(): Check[] {
    const options = this.props.sds ?? {};
    const { bundleName, allBundlesName, disableSpiffeCertValidation } = this.sdsSettings;
    const names = `default_bundle_name "${bundleName}", default_all_bundles_name "${allBundlesName}"`;
    return [
      ['sds.defaultBundleName', options.defaultBundleName === '' ? EMPTY_SDS_NAME : undefined],
      ['sds.defaultAllBundlesName', options.defaultAllBundlesName === '' ? EMPTY_SDS_NAME : undefined],
      ['sds', bundleName === allBundlesName ? {
        value: names,
        rule: 'SPIRE ignores the all-bundles name when both names are the same',
        fix: 'give the two bundle names different values',
      } : undefined],
      ['sds', this.federated || bundleName === ISTIO_ROOT_CA_RESOURCE || allBundlesName === ISTIO_ROOT_CA_RESOURCE ? undefined : {
        value: names,
        rule: `istio-proxy asks for the roots under "${ISTIO_ROOT_CA_RESOURCE}", which neither name is, so no proxy can validate a peer`,
        fix: `leave one of the names at "${ISTIO_ROOT_CA_RESOURCE}"`,
      }],
      ['sds.defaultAllBundlesName', !this.federated || allBundlesName === ISTIO_ROOT_CA_RESOURCE ? undefined : {
        value: allBundlesName,
        rule: `the server federates, and istio-proxy asks for the roots under "${ISTIO_ROOT_CA_RESOURCE}" only, so the federated bundles must be served under that name or peers of partner trust domains fail validation`,
        fix: `leave defaultAllBundlesName unset ("${ISTIO_ROOT_CA_RESOURCE}" with federation)`,
      }],
      ['sds.disableSpiffeCertValidation', this.federated && disableSpiffeCertValidation ? {
        value: 'true',
        rule: 'the server federates, and without the SPIFFE validator Envoy accepts any certificate that chains to any bundle, so a partner\'s CA could vouch for IDs of this trust domain',
        fix: 'leave disableSpiffeCertValidation unset',
      } : undefined],
    ];
  }

  private checkCacheSize(): Problem | undefined {
    const size = this.props.x509SvidCacheMaxSize;
    if (size === undefined || (Number.isInteger(size) && size >= 1)) return undefined;
    return {
      value: String(size),
      rule: 'the cache size is a whole number of at least 1; SPIRE refuses a negative one and reads 0 as its default, 1000',
      fix: 'set a positive number, or leave it unset for 1000',
    };
  }

  /**
   * SPIRE refuses a target below 24h (`cmd/spire-agent/cli/run/run.go`), and
   * ignores one its SVIDs do not outlive by 12h (`doc/spire_agent.md`,
   * "Availability Target"). An SVID is sure to get its TTL only up to a sixth
   * of the CA's, and 7 days: SPIRE activates the next CA there and cuts SVIDs
   * at the active CA's end (`MaxSVIDTTLForCATTL` in
   * `pkg/server/ca/manager/manager.go`). All v1.15.3.
   */
  /** The labels and annotations the agent's pod template carries of its own. */
  private get ownPodMetadata(): OwnPodMetadata {
    const scrape = this.metrics.endpoint === undefined ? [] : Object.values(SCRAPE_ANNOTATIONS);
    return { labels: this.podLabels, annotationKeys: [CONFIG_CHECKSUM_ANNOTATION, ...scrape] };
  }

  /** Delegates call the admin socket, and are workloads of this trust domain. */
  private authorizedDelegatesChecks(): Check[] {
    const delegates = this.props.authorizedDelegates ?? [];
    return [
      ['authorizedDelegates', delegates.length > 0 && this.adminSocketPath === undefined ? {
        value: delegates.join(', '),
        rule: 'delegates call the Delegated Identity API on the agent\'s admin socket, which the agent only opens with adminSocketDir',
        fix: 'set adminSocketDir, e.g. "/run/spire/agent-admin", and mount it into the delegate\'s pods',
      } : undefined],
      ...delegates.map((id): Check => ['authorizedDelegates', checkSpiffeId(id, this.trustDomain, 'the agent\'s, whose workloads the delegates are')]),
    ];
  }

  /** A delay without re-attestation would be ignored; a delay that is not a duration, refused by SPIRE. */
  private checkRebootstrapDelay(): Problem | undefined {
    const delay = this.props.rebootstrapDelay;
    if (delay === undefined) return undefined;
    const mode = this.props.rebootstrapMode ?? RebootstrapMode.NEVER;
    if (mode === RebootstrapMode.NEVER) {
      return { value: delay, rule: `the agent never attests again (rebootstrapMode ${mode}), so the delay would be ignored`, fix: 'set rebootstrapMode: RebootstrapMode.AUTO (or ALWAYS), or leave rebootstrapDelay unset' };
    }
    return checkGoDuration(delay);
  }

  private checkAvailabilityTarget(): Problem | undefined {
    const target = this.props.availabilityTarget;
    if (target === undefined) return undefined;
    const targetSeconds = goDurationSeconds(target);
    if (targetSeconds === undefined) return checkGoDuration(target);
    if (targetSeconds < MINIMUM_AVAILABILITY_TARGET_SECONDS) {
      return { value: target, rule: 'SPIRE refuses an availability target below 24h and the agent does not start', fix: 'set it to "24h" or more, or leave it unset' };
    }
    const server = this.server;
    const svidTtl = goDurationSeconds(server.x509SvidTtl);
    const caTtl = goDurationSeconds(server.caTtl);
    // An invalid TTL is reported by the server.
    if (svidTtl === undefined || caTtl === undefined) return undefined;
    const lifetime = Math.min(svidTtl, caTtl / CA_TTL_PER_SVID_TTL, MAX_GUARANTEED_SVID_SECONDS);
    const needed = targetSeconds + AVAILABILITY_GRACE_SECONDS;
    if (lifetime >= needed) return undefined;
    return {
      value: target,
      rule: `the server's X509-SVIDs are sure to live ${formatGoDuration(lifetime)} (the least of x509SvidTtl ${server.x509SvidTtl}, a sixth of caTtl ${server.caTtl}, and 7 days), less than the target plus 12h, so SPIRE ignores the target and renews at half the lifetime`,
      fix: `set the server's x509SvidTtl to at least "${formatGoDuration(needed)}" and its caTtl to at least "${formatGoDuration(needed * CA_TTL_PER_SVID_TTL)}", or leave availabilityTarget unset`,
    };
  }

  private checkAdminSocketDir(): Problem | undefined {
    const dir = this.props.adminSocketDir;
    if (dir === undefined) return undefined;
    const invalid = checkAbsolutePath(dir);
    if (invalid) return invalid;
    const publicDir = this.workloadApi.dir;
    if (dir === publicDir || dir.startsWith(`${publicDir}/`) || publicDir.startsWith(`${dir}/`)) {
      return {
        value: dir,
        rule: `the admin socket would share ${publicDir}, which the CSI driver mounts into every workload`,
        fix: 'use a private directory such as "/tmp/spire-agent/private"',
      };
    }
    return undefined;
  }
}

const MINIMUM_AVAILABILITY_TARGET_SECONDS = 24 * 3600;
const AVAILABILITY_GRACE_SECONDS = 12 * 3600;
const CA_TTL_PER_SVID_TTL = 6;
const MAX_GUARANTEED_SVID_SECONDS = 7 * 24 * 3600;

const EMPTY_SDS_NAME: Problem = { value: '', rule: 'SPIRE reads an empty name as its default', fix: 'give a name, or leave it unset' };

function checkFileName(value: string): Problem | undefined {
  if (/^[A-Za-z0-9._-]+$/.test(value) && value !== '.' && value !== '..') return undefined;
  return { value, rule: 'the socket file name is one path segment', fix: 'use a plain name such as "socket"' };
}
