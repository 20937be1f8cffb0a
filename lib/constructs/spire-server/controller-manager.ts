import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { ControllerManagerOptions, EntryIdCleanup, LeaderElectionOptions, renderControllerManagerConfig, unreconciledResources } from '../../config/controller-manager-config';
import { Metrics, PrometheusEndpoint } from '../../config/metrics';
import { renderJson } from '../../config/spire-config';
import { httpProbe, resources, restrictedSecurityContext } from '../../kube/container-defaults';
import { withMetricsPort } from '../../kube/metrics-endpoint';
import { KubeValidatingWebhookConfiguration, namedApiResource, selectPodLabels } from '../../kube/objects';
import { applyContainerResources, resourceChecks } from '../../kube/pod-settings';
import { probeTimingChecks } from '../../kube/probe';
import { DefaultImages } from '../../spire/images';
import { checkParentIdTemplate, DEFAULT_PARENT_ID_TEMPLATE } from '../../spire/spiffe-id-template';
import { checkDnsLabel, checkDnsSubdomain, checkGoDuration, checkGoRegexp, checkPinnedImage, checkTrustDomain, goDurationSeconds, Problem } from '../../validation/rules';
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
// SPIRE keeps entry IDs of at most 255 characters; the controller manager appends "." and a UUID.
const MAX_ENTRY_ID_PREFIX = 255 - '.'.length - 36;
// controller-runtime's leader election timings, and client-go's factor of jitter on the retry period.
const LEADER_ELECTION_DEFAULTS: Required<LeaderElectionOptions> = { leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' };
const RETRY_JITTER_FACTOR = 1.2;

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
  public readonly entryIdPrefix: string;
  public readonly metricsPortName = 'cm-metrics';
  public readonly metricsPort = METRICS_PORT;
  private readonly options: ControllerManagerOptions;

  constructor(private readonly server: ControllerManagerServer, private readonly props: SpireServerOptions) {
    this.className = props.className ?? `${server.namespace}-spire`;
    this.ignoreNamespaces = props.ignoreNamespaces
      ?? ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', server.namespace].map(exactNamespacePattern);
    this.parentIdTemplate = props.parentIdTemplate ?? DEFAULT_PARENT_ID_TEMPLATE;
    this.watchClassless = props.watchClassless ?? false;
    this.webhookFailurePolicy = props.webhookFailurePolicy ?? WebhookFailurePolicy.FAIL;
    this.webhookConfigurationName = `${server.namespace}-spire-controller-manager-webhook`;
    this.options = props.controllerManager ?? {};
    this.entryIdPrefix = this.options.entryIdPrefix ?? server.clusterName.replace(/\./g, '-');
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
      entryIdPrefix: this.entryIdPrefix,
      entryIdPrefixCleanup: this.options.entryIdPrefixCleanup,
      gcIntervalNanoseconds: this.gcIntervalNanoseconds,
      logLevel: this.options.logLevel,
      logFormat: this.options.logFormat,
      leaderElection: this.options.leaderElection,
      reconcile: this.options.reconcile,
      cacheNamespaces: this.options.cacheNamespaces,
    });
  }

  private get gcIntervalNanoseconds(): number | undefined {
    const seconds = this.options.gcInterval === undefined ? undefined : goDurationSeconds(this.options.gcInterval);
    return seconds === undefined ? undefined : Math.round(seconds * 1e9);
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
      liveness: httpProbe('/healthz', HEALTH_PORT, 30, this.options.livenessProbe),
      readiness: httpProbe('/readyz', HEALTH_PORT, 5, this.options.readinessProbe),
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
      ['controllerManager.entryIdPrefix', checkEntryIdPrefix(this.entryIdPrefix)],
      ['controllerManager.entryIdPrefixCleanup', checkEntryIdCleanup(this.options.entryIdPrefixCleanup, this.entryIdPrefix)],
      ['controllerManager.gcInterval', this.options.gcInterval === undefined ? undefined : checkGoDuration(this.options.gcInterval)],
      ...leaderElectionChecks(this.options.leaderElection),
      ...probeTimingChecks('controllerManager.livenessProbe', this.options.livenessProbe, true),
      ...probeTimingChecks('controllerManager.readinessProbe', this.options.readinessProbe, false),
      ...this.reconcileChecks(),
      ...cacheNamespaceChecks(this.options.cacheNamespaces),
    ];
  }

  /** A kind the output itself declares resources of for this class must stay reconciled. */
  private reconcileChecks(): Check[] {
    if (this.options.reconcile === undefined) return [];
    const config = this.config;
    const resources = this.server.node.root.node.findAll().filter(ApiObject.isApiObject).map((apiObject) => apiObject.toJson());
    return Object.entries(groupByKind(unreconciledResources(config, resources))).map(([kind, names]): Check => [
      `controllerManager.reconcile.${RECONCILE_OPTION[kind]}`, {
        value: 'false',
        rule: `the output declares ${kind} ${names.join(', ')} of class ${this.className}, which the controller manager would then never turn into SPIRE state`,
        fix: `leave ${RECONCILE_OPTION[kind]} on, or remove those resources`,
      }]);
  }
}

const RECONCILE_OPTION: Record<string, string> = {
  ClusterSPIFFEID: 'clusterSpiffeIds',
  ClusterStaticEntry: 'clusterStaticEntries',
  ClusterFederatedTrustDomain: 'clusterFederatedTrustDomains',
};

function groupByKind(resources: any[]): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  for (const resource of resources) (names[resource.kind] ??= []).push(resource.metadata?.name);
  return names;
}

/** The prefix must make entry IDs SPIRE accepts, and no prefix may contain another's separator. */
function checkEntryIdPrefix(prefix: string): Problem | undefined {
  if (/^[A-Za-z0-9_-]+$/.test(prefix) && prefix.length <= MAX_ENTRY_ID_PREFIX) return undefined;
  return {
    value: prefix,
    rule: `an entry ID prefix is 1 to ${MAX_ENTRY_ID_PREFIX} letters, digits, "-" and "_": SPIRE's entry ID characters without the "." the controller manager puts after it, so that no prefix reaches into another's entries`,
    fix: 'set controllerManager.entryIdPrefix to such a name, e.g. "prod"',
  };
}

function checkEntryIdCleanup(cleanup: EntryIdCleanup | undefined, prefix: string): Problem | undefined {
  if (cleanup === undefined || cleanup.previousPrefix === '') return undefined;
  const previous = cleanup.previousPrefix.replace(/\.$/, '');
  if (!/^[A-Za-z0-9._-]+$/.test(previous) || previous.length > MAX_ENTRY_ID_PREFIX) {
    return { value: cleanup.previousPrefix, rule: `a previous entry ID prefix is 1 to ${MAX_ENTRY_ID_PREFIX} of SPIRE's entry ID characters (letters, digits, ".", "-" and "_")`, fix: 'name the prefix the controller manager had, e.g. EntryIdCleanup.withPrefix("prod")' };
  }
  if (previous === prefix) {
    return { value: cleanup.previousPrefix, rule: 'it is the current entryIdPrefix, whose entries the controller manager would delete as it makes them (it refuses to start)', fix: 'name the previous prefix, or drop entryIdPrefixCleanup' };
  }
  return undefined;
}

/** client-go refuses a leader election whose renewals cannot fit into the lease. */
function leaderElectionChecks(options: LeaderElectionOptions | undefined): Check[] {
  if (options === undefined) return [];
  const fields = ['leaseDuration', 'renewDeadline', 'retryPeriod'] as const;
  const syntax = fields.map((field): Check => [`controllerManager.leaderElection.${field}`, options[field] === undefined ? undefined : checkGoDuration(options[field])]);
  if (syntax.some(([, problem]) => problem !== undefined)) return syntax;
  const [lease, renew, retry] = fields.map((field) => goDurationSeconds(options[field] ?? LEADER_ELECTION_DEFAULTS[field]) as number);
  const effective = (field: typeof fields[number]) => options[field] ?? `${LEADER_ELECTION_DEFAULTS[field]} (default)`;
  return [
    ['controllerManager.leaderElection.renewDeadline', renew < lease ? undefined : {
      value: effective('renewDeadline'),
      rule: `the leader must give up before its lease of ${effective('leaseDuration')} runs out, so that no two replicas lead at once`,
      fix: 'make renewDeadline shorter than leaseDuration',
    }],
    ['controllerManager.leaderElection.retryPeriod', renew > RETRY_JITTER_FACTOR * retry ? undefined : {
      value: effective('retryPeriod'),
      rule: `the renew deadline of ${effective('renewDeadline')} must exceed ${RETRY_JITTER_FACTOR} times the retry period (its jitter), so that the leader can retry renewing at all`,
      fix: 'make retryPeriod shorter, or renewDeadline longer',
    }],
  ];
}

function cacheNamespaceChecks(namespaces: string[] | undefined): Check[] {
  if (namespaces === undefined) return [];
  if (namespaces.length === 0) {
    return [['controllerManager.cacheNamespaces', { value: '[]', rule: 'an empty list is read as every namespace', fix: 'name the namespaces to watch, or leave cacheNamespaces unset for all' }]];
  }
  return namespaces.map((namespace): Check => ['controllerManager.cacheNamespaces', checkDnsLabel(namespace)]);
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
