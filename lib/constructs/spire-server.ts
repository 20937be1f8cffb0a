import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BundleEndpointOptions, FederationPartner } from '../config/federation-config';
import { KeyManager } from '../config/key-manager';
import { dogStatsdAddress, Metrics, MetricsTarget } from '../config/metrics';
import { renderServerConfig, ServerDatastore } from '../config/server-config';
import { DEFAULT_HEALTH_CHECKS, LogLevel, renderJson } from '../config/spire-config';
import { UpstreamAuthority } from '../config/upstream-authority';
import { defaultName } from '../kube/default-name';
import { metricsChecks } from '../kube/metrics-endpoint';
import { podSpecChecks, resourceChecks } from '../kube/pod-settings';
import { registerLayoutChecks } from '../mesh/layout-checks';
import { DefaultImages } from '../spire/images';
import { requireProps } from '../validation/required';
import { checkDnsLabel, checkDnsSubdomain, checkImageRegistry, checkPinnedImage, checkPort, checkTrustDomain, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { AgentAttestation } from './spire-server/agent-attestation';
import { BundleEndpoint } from './spire-server/bundle-endpoint';
import { BundlePublishers } from './spire-server/bundle-publishers';
import { CertificateAuthority } from './spire-server/certificate-authority';
import { ControllerManager } from './spire-server/controller-manager';
import { Datastore } from './spire-server/datastore';
import { HighAvailability } from './spire-server/high-availability';
import { KeyManagerPart } from './spire-server/key-manager';
import { NodeAttestors } from './spire-server/node-attestors';
import { ServerSettings } from './spire-server/server-settings';
import { SpireServerProps, WebhookFailurePolicy } from './spire-server/options';
import { Contributions, ServerPart } from './spire-server/part';
import type { ISpireServer } from './spire-server/reference';
import { createServerWorkload, SERVER_POD } from './spire-server/workload';
import { grantServerPermissions } from './spire-server/rbac';
import { UpstreamAuthorityPart } from './spire-server/upstream-authority';

export { WebhookFailurePolicy } from './spire-server/options';
export type { SpireServerOptions, SpireServerProps } from './spire-server/options';

export type { AgentRegistration } from './spire-server/agent-registration';
export type { ISpireServer } from './spire-server/reference';

/**
 * The SPIRE server as a StatefulSet, with the SPIRE Controller Manager beside
 * it in the same pod (they share the server API socket through an emptyDir),
 * the Service agents connect to, the controller manager's validating webhook,
 * a service account and least-privilege RBAC. Its concerns are parts of their
 * own (lib/constructs/spire-server/), each adding what it needs to the server.
 */
export class SpireServer extends Construct implements ISpireServer {
  public readonly trustDomain: string;
  public readonly clusterName: string;
  /** DNS domain of the cluster's Services. */
  public readonly clusterDomain: string;
  public readonly namespace: string;
  /** Name of the Service agents connect to. */
  public readonly serviceName: string;
  /** In-cluster DNS name agents dial. */
  public readonly address: string;
  public readonly port: number;
  /** Lifetime of the server's signing CA (Go duration). */
  public readonly caTtl: string;
  /** Default lifetime of X.509 SVIDs (Go duration). */
  public readonly x509SvidTtl: string;
  /** The controller manager's class; every ClusterSPIFFEID must carry it. */
  public readonly className: string;
  /** Audience of the projected token agents present for `k8s_psat` attestation. */
  public readonly psatAudience = 'spire-server';
  /** Path of the server API socket shared with the controller manager. */
  public readonly apiSocketPath = `${SERVER_POD.apiSocketDir}/api.sock`;
  public readonly replicas: number;
  public readonly datastore: ServerDatastore;
  public readonly keyManager: KeyManager;
  /** Name of the headless Service that governs the StatefulSet (the replicas' own DNS names). */
  public readonly headlessServiceName: string;
  /** The ServiceAccount the server runs as. */
  public readonly serviceAccount: ApiObject;
  /** Name of the service account the server runs as. */
  public readonly serviceAccountName: string;
  /** Name of the ValidatingWebhookConfiguration the controller manager keeps the CA bundle of. */
  public readonly webhookConfigurationName: string;
  public readonly ignoreNamespaces: string[];
  /** The parent ID template of pod entries (the controller manager's default unless set). */
  public readonly parentIdTemplate: string;
  public readonly watchClassless: boolean;
  public readonly webhookFailurePolicy: WebhookFailurePolicy;
  /** The server's StatefulSet. */
  public readonly statefulSet: ApiObject;
  /** The registry the default images come from instead of their own, when set. */
  public readonly imageRegistry?: string;
  /** The `iss` claim of the JWT-SVIDs this server signs, when set. */
  public readonly jwtIssuer?: string;
  /** Labels of the server pods. */
  public readonly podLabels: { [key: string]: string };
  public readonly metrics: Metrics;
  /** The CA that signs the server's CA; undefined when it is self-signed. */
  public readonly upstreamAuthority?: UpstreamAuthority;
  /** Name of the spire-server container port serving metrics. */
  public readonly metricsPortName = 'metrics';
  /** Name of the controller manager's container port serving metrics. */
  public readonly controllerManagerMetricsPortName: string;
  /** Port the controller manager serves metrics on, when metrics are on. */
  public readonly controllerManagerMetricsPort: number;
  /** SPIFFE ID of the server's own X509-SVID, which its `https_spiffe` bundle endpoint presents. */
  public readonly spiffeId: string;
  /** The federation bundle endpoint, when the server serves one. */
  public readonly bundleEndpoint?: BundleEndpointOptions;
  /** Port of the bundle endpoint, when the server serves one. */
  public readonly bundleEndpointPort?: number;
  /** Port of the bundle endpoint's Service, when the server serves one. */
  public readonly bundleEndpointServicePort?: number;
  /** Name of the bundle endpoint's Service, when the server serves one. */
  public readonly bundleEndpointServiceName?: string;
  /** Whether the server signs no JWT-SVIDs (`disableJwtSvids`). */
  public readonly jwtSvidsDisabled?: boolean;

  private readonly name: string;
  private readonly props: SpireServerProps;
  private readonly plusStatefulSet: kplus.StatefulSet;
  private readonly certificateAuthority: CertificateAuthority;
  private readonly controllerManager: ControllerManager;
  private readonly bundleEndpointPart?: BundleEndpoint;
  private readonly settings: ServerSettings;
  private readonly contributions: Contributions;

  constructor(scope: Construct, id: string, props: SpireServerProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['trustDomain', 'string', 'the trust domain, e.g. "example.org"'],
      ['clusterName', 'string', 'the cluster\'s name in SPIRE, e.g. "prod"'],
    ]);
    this.props = props;
    this.trustDomain = props.trustDomain;
    this.clusterName = props.clusterName;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.name = props.name ?? defaultName(this);
    this.namespace = props.namespace ?? this.name;
    this.serviceName = this.name;
    this.headlessServiceName = `${this.name}-headless`;
    this.port = props.port ?? 8081;
    this.address = `${this.serviceName}.${this.namespace}.svc`;
    this.certificateAuthority = new CertificateAuthority(props);
    this.caTtl = this.certificateAuthority.caTtl;
    this.x509SvidTtl = this.certificateAuthority.x509SvidTtl;
    this.replicas = props.replicas ?? 1;
    this.datastore = props.datastore ?? ServerDatastore.sqlite();
    this.keyManager = props.keyManager ?? KeyManager.disk();
    this.imageRegistry = props.imageRegistry;
    this.jwtIssuer = props.jwtIssuer;
    this.podLabels = { 'app.kubernetes.io/name': this.name };
    this.metrics = props.metrics ?? Metrics.prometheus();
    this.upstreamAuthority = props.upstreamAuthority;
    this.spiffeId = `spiffe://${this.trustDomain}/spire/server`;

    this.controllerManager = new ControllerManager(this, props);
    this.className = this.controllerManager.className;
    this.ignoreNamespaces = this.controllerManager.ignoreNamespaces;
    this.parentIdTemplate = this.controllerManager.parentIdTemplate;
    this.watchClassless = this.controllerManager.watchClassless;
    this.webhookFailurePolicy = this.controllerManager.webhookFailurePolicy;
    this.webhookConfigurationName = this.controllerManager.webhookConfigurationName;
    this.controllerManagerMetricsPortName = this.controllerManager.metricsPortName;
    this.controllerManagerMetricsPort = this.controllerManager.metricsPort;
    this.bundleEndpoint = props.bundleEndpoint;
    this.bundleEndpointPart = props.bundleEndpoint === undefined ? undefined : new BundleEndpoint(props.bundleEndpoint, this.name);
    this.bundleEndpointPort = this.bundleEndpointPart?.port;
    this.bundleEndpointServicePort = this.bundleEndpointPart?.servicePort;
    this.bundleEndpointServiceName = this.bundleEndpointPart?.serviceName;
    this.settings = new ServerSettings(props);
    this.jwtSvidsDisabled = this.settings.jwtSvidsDisabled;
    this.contributions = this.bindParts();

    const workload = createServerWorkload(this, {
      name: this.name,
      headlessServiceName: this.headlessServiceName,
      namespace: this.namespace,
      replicas: this.replicas,
      podLabels: this.podLabels,
      serviceAccountAnnotations: props.serviceAccountAnnotations,
      configFiles: () => this.configFiles,
      image: this.image,
      port: this.port,
      metrics: this.metrics.endpoint,
      metricsPortName: this.metricsPortName,
      settings: props,
    }, this.contributions);
    this.serviceAccount = ApiObject.of(workload.serviceAccount);
    this.serviceAccountName = this.serviceAccount.name;
    this.plusStatefulSet = workload.statefulSet;
    this.statefulSet = ApiObject.of(this.plusStatefulSet);
    this.contributions.afterStatefulSet(this.plusStatefulSet);
    grantServerPermissions(this, workload.serviceAccount, this.contributions);
    validateAtSynth(this, () => this.checks());
    registerLayoutChecks(this);
  }

  /**
   * The parts of the server, in the order their objects, mounts and variables
   * appear in the output, bound to it.
   */
  private bindParts(): Contributions {
    const props = this.props;
    const parts: ServerPart[] = [
      new AgentAttestation(this.psatAudience),
      this.certificateAuthority,
      new HighAvailability(this.replicas),
      ...(this.bundleEndpointPart === undefined ? [] : [this.bundleEndpointPart]),
      new Datastore(this.datastore, { size: props.storageSize, storageClassName: props.storageClassName }),
      new KeyManagerPart(this.keyManager),
      this.controllerManager,
      ...(props.upstreamAuthority === undefined ? [] : [new UpstreamAuthorityPart(props.upstreamAuthority)]),
      this.settings,
      ...(props.nodeAttestors === undefined ? [] : [new NodeAttestors(props.nodeAttestors)]),
      ...(props.bundlePublishers === undefined ? [] : [new BundlePublishers(props.bundlePublishers)]),
    ];
    return new Contributions(parts, {
      scope: this,
      name: this.name,
      namespace: this.namespace,
      podLabels: this.podLabels,
      replicas: this.replicas,
      configDir: SERVER_POD.configDir,
      dataDir: SERVER_POD.dataDir,
      // Whether anything the server keeps must outlive the pod: the sqlite database or the CA keys.
      dataOnVolume: parts.some((part) => part.keepsData),
      upstreamSigned: props.upstreamAuthority !== undefined,
      serverPorts: [this.port, DEFAULT_HEALTH_CHECKS.port, ...(this.metrics.endpoint ? [this.metrics.endpoint.port] : [])],
      controllerManagerPorts: this.controllerManager.ports,
    });
  }

  /** The server's configuration as SPIRE reads it. Needs a registered agent. */
  public get serverConfig(): any {
    return renderServerConfig({
      trustDomain: this.trustDomain,
      clusterName: this.clusterName,
      bindPort: this.port,
      apiSocketPath: this.apiSocketPath,
      dataDir: SERVER_POD.dataDir,
      ...this.contributions.config,
      logLevel: this.props.logLevel ?? LogLevel.INFO,
      health: DEFAULT_HEALTH_CHECKS,
      prometheus: this.metrics.endpoint,
      dogStatsdAddress: dogStatsdAddress(this.metrics.dogStatsdSink),
    });
  }

  /**
   * This server as the partner of a ClusterFederatedTrustDomain in another
   * trust domain: its trust domain, bundle endpoint URL, profile and, for
   * `https_spiffe`, its own SPIFFE ID. Needs `bundleEndpoint`.
   */
  public get federationPartner(): FederationPartner {
    if (this.bundleEndpointPart === undefined) {
      throw new Error(`${this.node.path}: the server serves no bundle endpoint, so no other trust domain can federate with it. Fix: set \`bundleEndpoint\` on this SpireServer.`);
    }
    return this.bundleEndpointPart.partner(this.trustDomain, this.spiffeId);
  }

  /** Where scrapers find the server's and the controller manager's metrics. */
  public get metricsTarget(): MetricsTarget {
    return {
      name: this.name,
      namespace: this.namespace,
      podLabels: this.podLabels,
      portNames: this.metrics.endpoint === undefined ? [] : [this.metricsPortName, this.controllerManagerMetricsPortName],
    };
  }

  /** The controller manager's configuration. */
  public get controllerManagerConfig(): any {
    return this.controllerManager.config;
  }

  /** The spire-server image the pods run. */
  public get image(): string {
    return this.props.image ?? DefaultImages.fromRegistry(DefaultImages.SPIRE_SERVER, this.imageRegistry);
  }

  /** The files of the config volume, each rendered when the app synthesizes: server.conf and what the parts add. */
  private get configFiles(): { [name: string]: () => string } {
    return { [SERVER_POD.configFile]: () => renderJson(this.serverConfig), ...this.contributions.configFiles };
  }

  private checks(): Check[] {
    return [
      ['trustDomain', checkTrustDomain(this.trustDomain)],
      ['clusterName', checkDnsSubdomain(this.clusterName)],
      ['clusterDomain', this.checkClusterDomain()],
      ['namespace', checkDnsLabel(this.namespace)],
      ['name', checkDnsLabel(this.name)],
      ['port', checkPort(this.port)],
      ...metricsChecks(this.metrics, this.plusStatefulSet, this.metricsPortName),
      ['imageRegistry', this.imageRegistry === undefined ? undefined : checkImageRegistry(this.imageRegistry)],
      ['image', checkPinnedImage(this.image)],
      ...podSpecChecks(this.props),
      ...resourceChecks('resources', this.props.resources),
      ...this.contributions.checks,
    ];
  }

  private checkClusterDomain(): Problem | undefined {
    if (checkDnsSubdomain(this.clusterDomain) === undefined) return undefined;
    return {
      value: this.clusterDomain,
      rule: 'a cluster domain is a DNS name of lowercase labels separated by "."',
      fix: 'use the kubelets\' clusterDomain, e.g. "cluster.local"',
    };
  }
}
