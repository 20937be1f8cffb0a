import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { renderControllerManagerConfig } from '../../config/controller-manager-config';
import { Metrics, PrometheusEndpoint } from '../../config/metrics';
import { renderJson } from '../../config/spire-config';
import { httpProbe, resources, restrictedSecurityContext } from '../../kube/container-defaults';
import { withMetricsPort } from '../../kube/metrics-endpoint';
import { KubeValidatingWebhookConfiguration, namedApiResource, selectPodLabels } from '../../kube/objects';
import { applyContainerResources, resourceChecks } from '../../kube/pod-settings';
import { DefaultImages } from '../../spire/images';
import { checkParentIdTemplate, DEFAULT_PARENT_ID_TEMPLATE } from '../../spire/spiffe-id-template';
import { checkDnsSubdomain, checkGoRegexp, checkPinnedImage, checkTrustDomain } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { SPIRE_API_GROUP, SPIRE_API_VERSION } from '../spire-crds';
import { registeredAgent } from './agent-registration';
import { SpireServerOptions, WebhookFailurePolicy } from './options';
import { RbacRule, ServerBinding, ServerContribution, ServerPart, ServerPod } from './part';

const CONFIG_FILE = 'controller-manager-config.yaml';
const CONFIG_DIR = '/etc/spire-controller-manager';
const HEALTH_PORT = 8083;
const WEBHOOK_PORT = 9443;
const METRICS_PORT = 8082;

/** What the controller manager reads of the server it runs beside. */
export interface ControllerManagerServer extends IConstruct {
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly clusterDomain: string;
  readonly namespace: string;
  readonly apiSocketPath: string;
  /** The controller manager serves its metrics on the host the server's are on. */
  readonly metrics: Metrics;
  readonly imageRegistry?: string;
}

/**
 * The SPIRE Controller Manager, beside spire-server in its pod: it registers
 * the workloads ClusterSPIFFEIDs select through the server API socket, and
 * validates ClusterSPIFFEIDs and ClusterFederatedTrustDomains with a webhook
 * whose CA bundle it keeps. Its leader election lets replicas share the work.
 */
export class ControllerManager implements ServerPart {
  /** The class whose ClusterSPIFFEIDs, ClusterStaticEntries and ClusterFederatedTrustDomains it reconciles. */
  public readonly className: string;
  public readonly ignoreNamespaces: string[];
  public readonly parentIdTemplate: string;
  public readonly watchClassless: boolean;
  public readonly webhookFailurePolicy: WebhookFailurePolicy;
  public readonly webhookConfigurationName: string;
  public readonly metricsPortName = 'cm-metrics';
  public readonly metricsPort = METRICS_PORT;

  constructor(private readonly server: ControllerManagerServer, private readonly props: SpireServerOptions) {
    this.className = props.className ?? `${server.namespace}-spire`;
    this.ignoreNamespaces = props.ignoreNamespaces
      ?? ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', server.namespace].map(exactNamespacePattern);
    this.parentIdTemplate = props.parentIdTemplate ?? DEFAULT_PARENT_ID_TEMPLATE;
    this.watchClassless = props.watchClassless ?? false;
    this.webhookFailurePolicy = props.webhookFailurePolicy ?? WebhookFailurePolicy.FAIL;
    this.webhookConfigurationName = `${server.namespace}-spire-controller-manager-webhook`;
  }

  /** Its metrics endpoint: the server's host, its own port. */
  public get metrics(): PrometheusEndpoint | undefined {
    const server = this.server.metrics.endpoint;
    return server === undefined ? undefined : { host: server.host, port: this.metricsPort };
  }

  /** The ports it listens on in the server's pod. */
  public get ports(): number[] {
    return [WEBHOOK_PORT, HEALTH_PORT, ...(this.metrics ? [this.metrics.port] : [])];
  }

  /** Its configuration; the registered agent's namespace is always ignored. */
  public get config(): any {
    const agentNamespace = registeredAgent(this.server)?.serviceAccount.namespace;
    return renderControllerManagerConfig({
      trustDomain: this.server.trustDomain,
      clusterName: this.server.clusterName,
      clusterDomain: this.server.clusterDomain,
      className: this.className,
      serverSocketPath: this.server.apiSocketPath,
      ignoreNamespaces: [...this.ignoreNamespaces, ...(agentNamespace === undefined ? [] : [exactNamespacePattern(agentNamespace)])],
      webhookConfigurationName: this.webhookConfigurationName,
      leaderElectionNamespace: this.server.namespace,
      healthPort: HEALTH_PORT,
      metrics: this.metrics,
      watchClassless: this.watchClassless,
      parentIdTemplate: this.props.parentIdTemplate,
    });
  }

  private get image(): string {
    return this.props.controllerManagerImage ?? DefaultImages.fromRegistry(DefaultImages.SPIRE_CONTROLLER_MANAGER, this.server.imageRegistry);
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      configFiles: { [CONFIG_FILE]: () => renderJson(this.config) },
      containers: (pod) => this.addContainer(server, pod),
      afterStatefulSet: () => this.createWebhook(server),
      clusterRules: clusterRules(this.webhookConfigurationName),
      roles: [{
        id: 'LeaderElection',
        metadata: { name: `${server.name}-leader-election`, namespace: server.namespace },
        rules: [
          // Leader election reads, takes and renews its Lease and records the change as an Event.
          { verbs: ['get', 'create', 'update'], resources: [kplus.ApiResource.LEASES] },
          { verbs: ['create', 'patch'], resources: [kplus.ApiResource.EVENTS] },
        ],
      }],
      checks: () => this.checks(),
    };
  }

  private addContainer(server: ServerBinding, pod: ServerPod): void {
    const container = pod.statefulSet.addContainer({
      name: 'spire-controller-manager',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: [`--config=${CONFIG_DIR}/${CONFIG_FILE}`],
      ports: withMetricsPort([
        { name: 'https', number: WEBHOOK_PORT },
        { name: 'manager-health', number: HEALTH_PORT },
      ], this.metricsPortName, this.metrics),
      liveness: httpProbe('/healthz', HEALTH_PORT, 30),
      readiness: httpProbe('/readyz', HEALTH_PORT, 5),
      resources: resources({ cpuMillis: 50, memoryMiB: 64, memoryLimitMiB: 256 }),
      securityContext: restrictedSecurityContext(pod.user),
    });
    applyContainerResources(pod.statefulSet, container.name, this.props.controllerManagerResources);
    container.mount(CONFIG_DIR, pod.configVolume, { readOnly: true });
    container.mount('/tmp', kplus.Volume.fromEmptyDir(server.scope, 'TmpVolume', 'controller-manager-tmp'));
    container.mount(pod.apiSocketDir, pod.apiSocketVolume, { readOnly: true });
  }

  private createWebhook(server: ServerBinding): void {
    const webhookService = new kplus.Service(server.scope, 'WebhookService', {
      metadata: { name: 'spire-controller-manager-webhook', namespace: server.namespace },
      ports: [{ name: 'https', port: 443, targetPort: WEBHOOK_PORT, protocol: kplus.Protocol.TCP }],
    });
    selectPodLabels(webhookService, server.podLabels);
    const hook = (resource: string) => ({
      name: `v${resource}.kb.io`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: this.webhookFailurePolicy,
      // The controller manager fills in caBundle with the SPIRE trust bundle once it runs.
      clientConfig: {
        service: { name: webhookService.name, namespace: server.namespace, path: `/validate-spire-spiffe-io-${SPIRE_API_VERSION}-${resource}` },
      },
      rules: [{
        apiGroups: [SPIRE_API_GROUP],
        apiVersions: [SPIRE_API_VERSION],
        operations: ['CREATE', 'UPDATE'],
        resources: [`${resource}s`],
        // The server's default, written out: rules are replaced as a whole on apply.
        scope: '*',
      }],
    });
    new KubeValidatingWebhookConfiguration(server.scope, 'Webhook', {
      metadata: { name: this.webhookConfigurationName },
      webhooks: [hook('clusterfederatedtrustdomain'), hook('clusterspiffeid')],
    });
  }

  private checks(): Check[] {
    const trustDomain = this.server.trustDomain;
    return [
      // A derived class name is only as wrong as the namespace, which the server reports.
      ['className', this.props.className === undefined ? undefined : checkDnsSubdomain(this.className)],
      ['controllerManagerImage', checkPinnedImage(this.image)],
      // With an invalid trust domain the server's trustDomain check reports the cause.
      ['parentIdTemplate', checkTrustDomain(trustDomain) ? undefined : checkParentIdTemplate(this.parentIdTemplate, trustDomain)],
      ...this.ignoreNamespaces.map((pattern): Check => ['ignoreNamespaces', checkGoRegexp(pattern)]),
      ...resourceChecks('controllerManagerResources', this.props.controllerManagerResources),
    ];
  }
}

/**
 * It watches pods, nodes, namespaces, endpoints and the spire.spiffe.io
 * resources through informers (list and watch), writes the status of
 * ClusterSPIFFEIDs and ClusterStaticEntries, and keeps the CA bundle of its
 * own webhook configuration: its informer lists them all, so only get and
 * patch can be limited to that one by name.
 */
function clusterRules(webhookConfigurationName: string): RbacRule[] {
  const spireResource = (resourceType: string) => kplus.ApiResource.custom({ apiGroup: SPIRE_API_GROUP, resourceType });
  return [
    {
      verbs: ['list', 'watch'],
      resources: [
        kplus.ApiResource.PODS, kplus.ApiResource.NODES, kplus.ApiResource.NAMESPACES, kplus.ApiResource.ENDPOINTS,
        ...['clusterspiffeids', 'clusterfederatedtrustdomains', 'clusterstaticentries'].map(spireResource),
        kplus.ApiResource.VALIDATING_WEBHOOK_CONFIGURATIONS,
      ],
    },
    { verbs: ['update'], resources: ['clusterspiffeids/status', 'clusterstaticentries/status'].map(spireResource) },
    { verbs: ['get', 'patch'], resources: [namedApiResource(kplus.ApiResource.VALIDATING_WEBHOOK_CONFIGURATIONS, webhookConfigurationName)] },
  ];
}

/** The controller manager matches ignored namespaces as unanchored regular expressions. */
function exactNamespacePattern(namespace: string): string {
  return `^${namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}
