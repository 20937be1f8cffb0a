import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AgentPod, agentPodOf } from '../kube/agent-pod';
import { httpProbe, resources, rootWithoutCapabilities } from '../kube/container-defaults';
import { DefaultImages } from '../spire/images';
import { KubeCsiDriver } from '../kube/objects';
import { probeTimingChecks, WorkloadProbeOptions } from '../kube/probe';
import { applyContainerResources, ContainerResourceSpec, resourceChecks } from '../kube/pod-settings';
import { checkAbsolutePath, checkDnsSubdomain, checkImageRegistry, checkLabelKey, checkLabelValue, checkPinnedImage, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { SpireAgentDaemonSet, WorkloadApiSocket } from './spire-agent-daemon-set';
import { requireProps } from '../validation/required';

/** Settings of the SPIFFE CSI driver besides the agent it serves. */
export interface SpiffeCsiDriverOptions {
  /** The kubelet's root directory on the nodes. @default "/var/lib/kubelet" */
  readonly kubeletDir?: string;
  /**
   * Registry the driver's default images are pulled from (see SpireServer's).
   * Its containers run in the agent's pods, so they use the agent's `imagePullSecrets`.
   * @default the agent's imageRegistry
   */
  readonly imageRegistry?: string;
  /** @default DefaultImages.SPIFFE_CSI_DRIVER, from `imageRegistry` when set */
  readonly image?: string;
  /** @default DefaultImages.NODE_DRIVER_REGISTRAR, from `imageRegistry` when set */
  readonly registrarImage?: string;
  /** @default DefaultImages.CSI_LIVENESS_PROBE, from `imageRegistry` when set */
  readonly livenessProbeImage?: string;
  /**
   * Name of the driver, which pods put in their CSI volumes and the
   * cluster-wide CSIDriver object carries. Another name lets a second driver
   * run in the same cluster, e.g. "upstream.csi.spiffe.io" for the agent of an
   * upstream server in nested SPIRE (`UpstreamAuthority.spire`'s `csiDriverName`).
   * @default "csi.spiffe.io", the name Istio's and SPIRE's docs use
   */
  readonly driverName?: string;
  /** Resources of the spiffe-csi-driver container. @default requests cpu 10m, memory 32Mi; limits memory 64Mi */
  readonly resources?: ContainerResourceSpec;
  /** Labels of the cluster-wide CSIDriver object. @default none */
  readonly csiDriverLabels?: { [key: string]: string };
  /** Timing of the driver container's liveness probe, its CSI health on port 9808. @default every 30s, failing after 3 failures */
  readonly livenessProbe?: WorkloadProbeOptions;
}

export interface SpiffeCsiDriverProps extends SpiffeCsiDriverOptions {
  /** The agent whose Workload API socket directory the driver serves; its containers join the agent's pods. */
  readonly agent: SpireAgentDaemonSet;
}

const DEFAULT_DRIVER_NAME = 'csi.spiffe.io';
const AGENT_SOCKET_MOUNT = '/spire-agent-socket';
const CSI_SOCKET_DIR = '/spiffe-csi';
const REGISTRATION_DIR = '/registration';
const REGISTRAR_HEALTH_PORT = 9809;
const DRIVER_HEALTH_PORT = 9808;

/**
 * The SPIFFE CSI driver: the cluster-wide `CSIDriver` object and its node
 * plugin (driver, node-driver-registrar and CSI liveness probe containers).
 * The node plugin runs in the agent's pods, so it is on exactly the nodes that
 * serve the socket and shares the agent's socket volume; it bind-mounts that
 * directory read-only into each pod that asks for a `csi.spiffe.io` volume.
 */
export class SpiffeCsiDriver extends Construct {
  /** The CSI driver name pods put in their inline volume. */
  public readonly driverName: string;
  public readonly agent: SpireAgentDaemonSet;
  /** The Workload API socket every mounted volume exposes: the agent's. */
  public readonly workloadApi: WorkloadApiSocket;

  /** The registry the default images come from instead of their own, when set. */
  public readonly imageRegistry?: string;

  private readonly kubeletDir: string;
  private readonly props: SpiffeCsiDriverProps;

  constructor(scope: Construct, id: string, props: SpiffeCsiDriverProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['agent', SpireAgentDaemonSet, 'the SpireAgentDaemonSet whose socket the driver serves'],
    ]);
    this.props = props;
    this.agent = props.agent;
    this.workloadApi = props.agent.workloadApi;
    this.kubeletDir = props.kubeletDir ?? '/var/lib/kubelet';
    this.driverName = props.driverName ?? DEFAULT_DRIVER_NAME;
    this.imageRegistry = props.imageRegistry ?? props.agent.imageRegistry;

    new KubeCsiDriver(this, 'CsiDriver', {
      metadata: { name: this.driverName, labels: props.csiDriverLabels },
      spec: {
        attachRequired: false,
        podInfoOnMount: true,
        fsGroupPolicy: 'None',
        volumeLifecycleModes: ['Ephemeral'],
      },
    });
    this.addNodePlugin(agentPodOf(props.agent));
    validateAtSynth(this, () => this.checks());
  }

  private get driverImage(): string {
    return this.props.image ?? DefaultImages.fromRegistry(DefaultImages.SPIFFE_CSI_DRIVER, this.imageRegistry);
  }

  private get registrarImage(): string {
    return this.props.registrarImage ?? DefaultImages.fromRegistry(DefaultImages.NODE_DRIVER_REGISTRAR, this.imageRegistry);
  }

  private get livenessProbeImage(): string {
    return this.props.livenessProbeImage ?? DefaultImages.fromRegistry(DefaultImages.CSI_LIVENESS_PROBE, this.imageRegistry);
  }

  private get pluginDir(): string {
    return `${this.kubeletDir}/plugins/${this.driverName}`;
  }

  private addNodePlugin({ daemonSet, socketVolume }: AgentPod): void {
    const csiSocketDir = kplus.Volume.fromHostPath(this, 'PluginDir', 'spiffe-csi-socket-dir', {
      path: this.pluginDir,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    const podsDir = kplus.Volume.fromHostPath(this, 'PodsDir', 'kubelet-pods-dir', {
      path: `${this.kubeletDir}/pods`,
      type: kplus.HostPathVolumeType.DIRECTORY,
    });
    const registrationDir = kplus.Volume.fromHostPath(this, 'RegistrationDir', 'kubelet-plugin-registration-dir', {
      path: `${this.kubeletDir}/plugins_registry`,
      type: kplus.HostPathVolumeType.DIRECTORY,
    });
    const csiSocket = `${CSI_SOCKET_DIR}/csi.sock`;

    const driver = daemonSet.addContainer({
      name: 'spiffe-csi-driver',
      image: this.driverImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: [
        '-workload-api-socket-dir', AGENT_SOCKET_MOUNT,
        '-plugin-name', this.driverName,
        '-csi-socket-path', csiSocket,
      ],
      envVariables: { MY_NODE_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME) },
      ports: [{ name: 'csi-healthz', number: DRIVER_HEALTH_PORT }],
      liveness: httpProbe('/healthz', DRIVER_HEALTH_PORT, 30, this.props.livenessProbe),
      resources: resources({ cpuMillis: 10, memoryMiB: 32, memoryLimitMiB: 64 }),
      // Bind mounts into pod directories need privilege and Bidirectional propagation.
      securityContext: { ...rootWithoutCapabilities(), privileged: true, allowPrivilegeEscalation: true },
    });
    applyContainerResources(daemonSet, driver.name, this.props.resources);
    driver.mount(AGENT_SOCKET_MOUNT, socketVolume, { readOnly: true });
    driver.mount(CSI_SOCKET_DIR, csiSocketDir);
    driver.mount(`${this.kubeletDir}/pods`, podsDir, { propagation: kplus.MountPropagation.BIDIRECTIONAL });

    const registrar = daemonSet.addContainer({
      name: 'node-driver-registrar',
      image: this.registrarImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: [
        '-csi-address', csiSocket,
        '-kubelet-registration-path', `${this.pluginDir}/csi.sock`,
        '-health-port', String(REGISTRAR_HEALTH_PORT),
      ],
      ports: [{ name: 'healthz', number: REGISTRAR_HEALTH_PORT }],
      liveness: httpProbe('/healthz', REGISTRAR_HEALTH_PORT, 30),
      resources: resources({ cpuMillis: 10, memoryMiB: 16, memoryLimitMiB: 64 }),
      securityContext: rootWithoutCapabilities(),
    });
    registrar.mount(CSI_SOCKET_DIR, csiSocketDir);
    registrar.mount(REGISTRATION_DIR, registrationDir);

    // Reports the driver's CSI Probe() over HTTP, so the kubelet can restart a hung driver.
    const livenessProbe = daemonSet.addContainer({
      name: 'csi-liveness-probe',
      image: this.livenessProbeImage,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: [`--csi-address=${csiSocket}`, `--health-port=${DRIVER_HEALTH_PORT}`],
      liveness: kplus.Probe.fromTcpSocket({ port: DRIVER_HEALTH_PORT }),
      resources: resources({ cpuMillis: 10, memoryMiB: 16, memoryLimitMiB: 64 }),
      securityContext: rootWithoutCapabilities(),
    });
    livenessProbe.mount(CSI_SOCKET_DIR, csiSocketDir);
  }

  private checks(): Check[] {
    return [
      ['kubeletDir', checkAbsolutePath(this.kubeletDir)],
      ['imageRegistry', this.props.imageRegistry === undefined ? undefined : checkImageRegistry(this.props.imageRegistry)],
      ['image', checkPinnedImage(this.driverImage)],
      ['registrarImage', checkPinnedImage(this.registrarImage)],
      ['livenessProbeImage', checkPinnedImage(this.livenessProbeImage)],
      ['driverName', this.checkDriverName()],
      ['driverName', this.checkNotUpstreamSocket()],
      ...resourceChecks('resources', this.props.resources),
      ...probeTimingChecks('livenessProbe', this.props.livenessProbe, true),
      ...Object.entries(this.props.csiDriverLabels ?? {}).flatMap(([key, value]): Check[] => [['csiDriverLabels', checkLabelKey(key)], ['csiDriverLabels', checkLabelValue(value)]]),
    ];
  }

  /** Kubernetes takes a CSI driver name of at most 63 characters in DNS subdomain form. */
  private checkDriverName(): Problem | undefined {
    if (this.driverName.length > 63) {
      return { value: this.driverName, rule: 'a CSI driver name has at most 63 characters', fix: 'use a shorter name, e.g. "upstream.csi.spiffe.io"' };
    }
    return checkDnsSubdomain(this.driverName);
  }

  /** In nested SPIRE the server fetches its own SVID from an agent of the upstream server, never from the agent it signs for. */
  private checkNotUpstreamSocket(): Problem | undefined {
    const server = this.agent.server;
    if (server.upstreamAuthority?._model().workloadApiCsiDriver !== this.driverName) return undefined;
    return {
      value: this.driverName,
      rule: `the upstreamAuthority of ${server.node.path} reads the upstream agent's socket through this driver, but it serves the agent of that server itself, which gets no SVID before the server has a CA`,
      fix: 'set csiDriverName of UpstreamAuthority.spire to the CSI driver of an agent of the upstream SPIRE server',
    };
  }
}

