import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PrometheusEndpoint } from '../../config/metrics';
import { DEFAULT_HEALTH_CHECKS } from '../../config/spire-config';
import { annotateConfigChecksum, CONFIG_CHECKSUM_ANNOTATION } from '../../kube/config-checksum';
import { Lazy } from 'cdk8s';
import { gracePeriod, httpProbe, podSecurityLabels, resources, restrictedSecurityContext, tcpProbe } from '../../kube/container-defaults';
import { annotateScrape, SCRAPE_ANNOTATIONS, withMetricsPort } from '../../kube/metrics-endpoint';
import { addVolumeClaimTemplate, dropAddressLabel, plusServiceType, selectPodLabels, useRuntimeDefaultSeccomp } from '../../kube/objects';
import { addPodMetadata, OwnPodMetadata } from '../../kube/pod-metadata';
import { applyContainerResources, applyPodSpecSettings, PodSpecSettings } from '../../kube/pod-settings';
import { ServiceType } from '../../kube/service-type';
import { SpireServerOptions } from './options';
import { Contributions } from './part';

/** Where the server pod keeps what SPIRE reads and writes, and whom it runs as. */
export const SERVER_POD = {
  user: 1000,
  configDir: '/run/spire/config',
  configFile: 'server.conf',
  dataDir: '/run/spire/data',
  apiSocketDir: '/tmp/spire-server/private',
} as const;

/** What the server's objects are made of besides its parts' contributions. */
export interface ServerWorkloadSpec {
  /** Name of the StatefulSet, its Service, service account and ConfigMap. */
  readonly name: string;
  readonly headlessServiceName: string;
  readonly namespace: string;
  /** Undefined when an autoscaler sets them. */
  readonly replicas?: number;
  /** The labels that select the server pods. */
  readonly podLabels: { [key: string]: string };
  readonly serviceAccountAnnotations?: { [key: string]: string };
  /** The files of the config volume, each rendered when the app synthesizes. */
  readonly configFiles: () => { [name: string]: () => string };
  readonly image: string;
  /** The agent API port. */
  readonly port: number;
  readonly metrics?: PrometheusEndpoint;
  readonly metricsPortName: string;
  readonly settings: PodSpecSettings & Pick<SpireServerOptions, 'resources' | 'livenessProbe' | 'readinessProbe' | 'podMetadata'
    | 'terminationGracePeriodSeconds' | 'serviceType' | 'serviceAnnotations'>;
}

/** The objects of the server: its namespace, service account, config, Services and StatefulSet. */
export interface ServerWorkload {
  readonly serviceAccount: kplus.ServiceAccount;
  readonly statefulSet: kplus.StatefulSet;
}

/**
 * The server's namespace (restricted Pod Security level), service account,
 * config volume, the Service agents connect to, and its StatefulSet.
 */
export function createServerWorkload(scope: Construct, spec: ServerWorkloadSpec, contributions: Contributions): ServerWorkload {
  new kplus.Namespace(scope, 'Namespace', { metadata: { name: spec.namespace, labels: podSecurityLabels('restricted') } });
  const serviceAccount = new kplus.ServiceAccount(scope, 'ServiceAccount', {
    metadata: { name: spec.name, namespace: spec.namespace, annotations: spec.serviceAccountAnnotations },
    automountToken: true,
  });
  const config = new kplus.ConfigMap(scope, 'Config', {
    metadata: { name: spec.name, namespace: spec.namespace },
    data: Object.fromEntries(Object.entries(spec.configFiles()).map(([name, produce]) => [name, Lazy.any({ produce })])),
  });
  const service = new kplus.Service(scope, 'Service', {
    metadata: { name: spec.name, namespace: spec.namespace, annotations: spec.settings.serviceAnnotations },
    type: plusServiceType(spec.settings.serviceType ?? ServiceType.CLUSTER_IP),
    ports: [{ name: 'grpc', port: spec.port, targetPort: spec.port, protocol: kplus.Protocol.TCP }],
  });
  selectPodLabels(service, spec.podLabels);
  return { serviceAccount, statefulSet: createStatefulSet(scope, spec, contributions, serviceAccount, config) };
}

/** The labels and annotations the server's pod template carries of its own, which `podMetadata` cannot replace. */
export function ownPodMetadata(spec: Pick<ServerWorkloadSpec, 'podLabels' | 'metrics'>, contributions: Contributions): OwnPodMetadata {
  const scrape = spec.metrics === undefined ? [] : Object.values(SCRAPE_ANNOTATIONS);
  return { labels: { ...spec.podLabels, ...contributions.podLabels }, annotationKeys: [CONFIG_CHECKSUM_ANNOTATION, ...scrape] };
}

/**
 * The server's StatefulSet, governed by a headless Service that gives each
 * replica a stable DNS name: spire-server with what the parts add to it, then
 * the parts' containers, sharing the config volume and the API socket.
 */
function createStatefulSet(scope: Construct, spec: ServerWorkloadSpec, contributions: Contributions,
  serviceAccount: kplus.ServiceAccount, config: kplus.ConfigMap): kplus.StatefulSet {
  const service = new kplus.Service(scope, 'HeadlessService', {
    metadata: { name: spec.headlessServiceName, namespace: spec.namespace },
    clusterIP: 'None',
    ports: [{ name: 'grpc', port: spec.port, targetPort: spec.port, protocol: kplus.Protocol.TCP }],
  });
  const statefulSet = new kplus.StatefulSet(scope, 'StatefulSet', {
    metadata: { name: spec.name, namespace: spec.namespace },
    service,
    replicas: spec.replicas,
    select: false,
    serviceAccount,
    automountServiceAccountToken: true,
    terminationGracePeriod: gracePeriod(spec.settings.terminationGracePeriodSeconds ?? 30),
    // Only the template: the selector cannot change on an existing StatefulSet.
    podMetadata: { labels: { ...spec.podLabels, ...contributions.podLabels } },
    securityContext: {
      ensureNonRoot: true,
      user: SERVER_POD.user,
      group: SERVER_POD.user,
      fsGroup: SERVER_POD.user,
      fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
    },
  });
  statefulSet.select(kplus.LabelSelector.of({ labels: spec.podLabels }));
  // The StatefulSet adds its own pod selector to the Service it is given; it selects by name like the others.
  dropAddressLabel(statefulSet, service);
  selectPodLabels(service, spec.podLabels);
  useRuntimeDefaultSeccomp(statefulSet);
  annotateConfigChecksum(statefulSet, () => Object.fromEntries(Object.entries(spec.configFiles()).map(([name, produce]) => [name, produce()])));
  annotateScrape(statefulSet, spec.metrics);
  applyPodSpecSettings(statefulSet, spec.settings);
  addPodMetadata(statefulSet, spec.settings.podMetadata, ownPodMetadata(spec, contributions));

  const configVolume = kplus.Volume.fromConfigMap(scope, 'ConfigVolume', config, { name: 'spire-config' });
  const apiSocketVolume = kplus.Volume.fromEmptyDir(scope, 'SocketVolume', 'spire-server-socket');
  addServerContainer(scope, statefulSet, spec, contributions, { configVolume, apiSocketVolume });
  contributions.addContainers({ statefulSet, user: SERVER_POD.user, configVolume, apiSocketDir: SERVER_POD.apiSocketDir, apiSocketVolume });
  for (const claim of contributions.claims) addVolumeClaimTemplate(statefulSet, { ...claim, containerIndex: 0 });
  return statefulSet;
}

function addServerContainer(scope: Construct, statefulSet: kplus.StatefulSet, spec: ServerWorkloadSpec, contributions: Contributions,
  volumes: { configVolume: kplus.Volume; apiSocketVolume: kplus.Volume }): void {
  const container = statefulSet.addContainer({
    name: 'spire-server',
    image: spec.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    args: ['-expandEnv', '-config', `${SERVER_POD.configDir}/${SERVER_POD.configFile}`],
    ports: withMetricsPort([
      { name: 'grpc', number: spec.port },
      { name: 'server-health', number: DEFAULT_HEALTH_CHECKS.port },
      ...contributions.ports,
    ], spec.metricsPortName, spec.metrics),
    // SPIRE's /live fails whenever the datastore does not answer, on every replica at once, and a
    // restart cannot bring a datastore back (a server that cannot reach it at start exits and backs
    // off): the kubelet restarts a replica only when its process stops accepting connections.
    liveness: tcpProbe(DEFAULT_HEALTH_CHECKS.port, 30, spec.settings.livenessProbe),
    readiness: httpProbe(DEFAULT_HEALTH_CHECKS.readyPath, DEFAULT_HEALTH_CHECKS.port, 5, spec.settings.readinessProbe),
    resources: resources({ cpuMillis: 100, memoryMiB: 128, memoryLimitMiB: 512 }),
    securityContext: restrictedSecurityContext(SERVER_POD.user),
    envVariables: contributions.env,
  });
  applyContainerResources(statefulSet, container.name, spec.settings.resources);
  container.mount(SERVER_POD.configDir, volumes.configVolume, { readOnly: true });
  // The root filesystem is read-only; the socket directory is a volume of its own inside /tmp.
  container.mount('/tmp', kplus.Volume.fromEmptyDir(scope, 'ServerTmpVolume', 'spire-server-tmp'));
  container.mount(SERVER_POD.apiSocketDir, volumes.apiSocketVolume);
  for (const { path, volume, readOnly } of contributions.mounts) container.mount(path, volume, { readOnly });
}
