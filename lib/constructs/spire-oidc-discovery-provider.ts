import { ApiObject, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  OidcDiscoveryProviderConfigModel, OidcKeySource, ProviderHealthChecks, renderOidcDiscoveryProviderConfig,
} from '../config/oidc-discovery-provider-config';
import { LogLevel, renderJson } from '../config/spire-config';
import { LogFormat } from '../config/log-format';
import { annotateConfigChecksum, CONFIG_CHECKSUM_ANNOTATION } from '../kube/config-checksum';
import { probeTimingChecks, WorkloadProbeOptions } from '../kube/probe';
import { addPodMetadata, OwnPodMetadata, podMetadataChecks } from '../kube/pod-metadata';
import { ServiceType } from '../kube/service-type';
import { httpProbe, podSecurityLabels, resources, restrictedSecurityContext } from '../kube/container-defaults';
import { addDisruptionBudget, dropAddressLabel, KubeIngress, plusServiceType, selectPodLabels, spreadOverNodesAndZones, useRuntimeDefaultSeccomp } from '../kube/objects';
import {
  applyContainerResources, applyPodSpecSettings, ContainerResourceSpec, PodMetadataOptions, PodPlacementOptions, podSpecChecks, resourceChecks, TolerationSpec,
} from '../kube/pod-settings';
import { DefaultImages } from '../spire/images';
import { checkJwtIssuer } from '../validation/jwt-issuer';
import {
  checkAnnotationKey, checkDnsLabel, checkDnsSubdomain, checkImageRegistry, checkPinnedImage, checkPort, checkReplicaCount, isFileName, Problem, urlHost,
} from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { ClusterSpiffeId } from './cluster-spiffe-id';
import { SpiffeCsiDriver } from './spiffe-csi-driver';
import { checkServerSignsJwtSvids, type ISpireServer, SPIRE_SERVER_KIND } from './spire-server/reference';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

/** An Ingress that serves the provider at its public domains over https. */
export interface OidcIngressOptions {
  /** IngressClass of the controller that serves it. @default the cluster's default class */
  readonly className?: string;
  /** Annotations of the Ingress, e.g. for cert-manager or the controller. @default none */
  readonly annotations?: { [key: string]: string };
  /**
   * kubernetes.io/tls Secret in the provider's namespace with a certificate for all `domains`,
   * which relying parties must trust (Web PKI).
   * @default none: TLS is terminated before the Ingress, e.g. by a cloud load balancer
   */
  readonly tlsSecretName?: string;
}

export interface SpireOidcDiscoveryProviderProps extends PodPlacementOptions {
  /**
   * The server whose JWT-SVIDs relying parties verify: trust domain, issuer and the controller
   * manager that registers the provider come from it. It must have a `jwtIssuer`.
   */
  readonly server: ISpireServer;
  /**
   * The CSI driver that mounts the agent's Workload API socket into the
   * provider's pods; needed for `OidcKeySource.workloadApi()`.
   * @default none: only keys from a ConfigMap
   */
  readonly csiDriver?: SpiffeCsiDriver;
  /**
   * Where the provider reads the JWT signing keys.
   * @default OidcKeySource.workloadApi()
   */
  readonly keySource?: OidcKeySource;
  /**
   * Public host names the provider is reached at, e.g. `oidc.example.org`
   * (lowercase, punycode). It refuses requests for any other host; the
   * Service's in-cluster names are added. The host of the server's
   * `jwtIssuer` must be one of them.
   */
  readonly domains: string[];
  /** Name of the Deployment, its Service, service account and ClusterSPIFFEID. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /**
   * Namespace of the provider, created here under the restricted Pod Security
   * level. The server's controller manager must not ignore it, or the
   * provider gets no identity and so no keys.
   * @default the name
   */
  readonly namespace?: string;
  /**
   * Replicas of the provider. Two or more get a PodDisruptionBudget
   * (`maxUnavailable: 1`) and are spread over nodes and zones, like the
   * server's replicas.
   * @default 2, so that relying parties can fetch keys during a rollout or a node drain
   */
  readonly replicas?: number;
  /**
   * Give every served key `"use": "sig"` (`set_key_use`), which some relying
   * parties require, e.g. Keycloak's SPIFFE identity provider.
   * @default false, SPIRE's: keys without `use`
   */
  readonly setKeyUse?: boolean;
  /**
   * The URL of the keys the discovery document names (`jwks_uri`), when a
   * proxy or CDN serves them elsewhere than `<issuer>/keys`; an https URL.
   * @default the issuer's `/keys`
   */
  readonly jwksUri?: string;
  /** Port of the Service (plain HTTP; terminate TLS in front of it). @default 80 */
  readonly port?: number;
  /**
   * How the Service is reached. A LoadBalancer or NodePort serves plain HTTP
   * outside the cluster, so put a TLS-terminating proxy in front of it: relying
   * parties fetch the keys over https only.
   * @default ServiceType.CLUSTER_IP, behind an ingress in the cluster
   */
  readonly serviceType?: ServiceType;
  /** Labels and annotations added to the provider's pods. @default none */
  readonly podMetadata?: PodMetadataOptions;
  /**
   * An Ingress for the provider's `domains`, routing the issuer's path (or
   * all paths) to its Service. @default none: expose the Service yourself
   */
  readonly ingress?: OidcIngressOptions;
  /** Timing of the liveness probe, HTTP /live on port 8008. @default every 30s, failing after 3 failures */
  readonly livenessProbe?: WorkloadProbeOptions;
  /** Timing of the readiness probe, HTTP /ready on port 8008. @default every 5s, failing after 3 failures */
  readonly readinessProbe?: WorkloadProbeOptions;
  /** @default LogLevel.INFO */
  readonly logLevel?: LogLevel;
  /** @default LogFormat.TEXT, the provider's; LogFormat.JSON for log pipelines that parse fields */
  readonly logFormat?: LogFormat;
  /** Resources of the provider container. @default requests cpu 10m, memory 32Mi; limits memory 128Mi */
  readonly resources?: ContainerResourceSpec;
  /** Registry the default image is pulled from. @default the server's imageRegistry */
  readonly imageRegistry?: string;
  /** Taints the provider's pods tolerate. @default none, so that it runs on ordinary worker nodes */
  readonly tolerations?: TolerationSpec[];
  /** @default DefaultImages.OIDC_DISCOVERY_PROVIDER, from `imageRegistry` when set */
  readonly image?: string;
}

const PROVIDER_UID = 1000;
const HTTP_PORT = 8080;
const HEALTH: ProviderHealthChecks = { port: 8008, livePath: '/live', readyPath: '/ready' };
const CONFIG_DIR = '/run/spire/oidc-config';
const CONFIG_FILE = 'oidc-discovery-provider.conf';
const WORKLOAD_API_DIR = '/spiffe-workload-api';
const BUNDLE_DIR = '/run/spire/oidc-bundle';

/**
 * SPIRE's OIDC Discovery Provider: serves `/.well-known/openid-configuration`
 * and the JWT signing keys (`/keys`) of the server's trust domain, so that
 * cloud IAM and other OpenID Connect relying parties accept JWT-SVIDs.
 *
 * It reads the keys through the Workload API, like any workload: the SPIFFE
 * CSI driver mounts the agent's socket and a ClusterSPIFFEID created here
 * gives its pods an identity. That keeps it out of the server's pod, needs no
 * access to the server API, and lets it scale on its own. Alternatively it
 * reads them from a trust bundle in a ConfigMap (`OidcKeySource.bundleConfigMap`). It listens on plain
 * HTTP behind the TLS-terminating ingress the relying parties reach it
 * through; the discovery document still names https URLs. Place it in a chart
 * after the server's, like other ClusterSPIFFEIDs.
 */
export class SpireOidcDiscoveryProvider extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  /** The host names the provider answers for: the given domains, then the Service's in-cluster names. */
  public readonly domains: string[];
  /** The Service relying parties reach the provider by. */
  public readonly service: ApiObject;
  /** The provider's Deployment. */
  public readonly deployment: ApiObject;
  /** The Ingress for the provider's domains; undefined without `ingress`. */
  public readonly ingress?: ApiObject;
  /** The identity of the provider's pods; undefined when the keys come from a ConfigMap. */
  public readonly identity?: ClusterSpiffeId;
  /** Labels of the provider pods. */
  public readonly podLabels: { [key: string]: string };

  private readonly props: SpireOidcDiscoveryProviderProps;
  private readonly server: ISpireServer;

  constructor(scope: Construct, id: string, props: SpireOidcDiscoveryProviderProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['server', SPIRE_SERVER_KIND, 'the SpireServer whose keys it serves'],
      ['domains', 'array', 'the domains it answers for, e.g. ["oidc.example.org"]'],
    ]);
    this.props = props;
    this.server = props.server;
    this.name = props.name ?? defaultName(this);
    this.namespace = props.namespace ?? this.name;
    this.podLabels = { 'app.kubernetes.io/name': this.name };
    this.domains = [...props.domains, ...this.serviceHostNames()];

    new kplus.Namespace(this, 'Namespace', {
      metadata: { name: this.namespace, labels: podSecurityLabels('restricted') },
    });
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, namespace: this.namespace, annotations: props.serviceAccountAnnotations },
      automountToken: false,
    });
    const config = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: this.name, namespace: this.namespace },
      data: { [CONFIG_FILE]: Lazy.any({ produce: () => this.configFile() }) },
    });
    this.deployment = ApiObject.of(this.createDeployment(serviceAccount, config));
    this.service = ApiObject.of(this.createService());
    this.ingress = props.ingress === undefined ? undefined : this.createIngress(props.ingress);
    if (this.replicas > 1) addDisruptionBudget(this, { name: this.name, namespace: this.namespace }, this.podLabels);
    this.identity = this.keySource.bundle !== undefined ? undefined : new ClusterSpiffeId(this, 'Identity', {
      name: this.name,
      server: this.server,
      podSelector: { matchLabels: this.podLabels },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.namespace } },
    });
    validateAtSynth(this, () => this.checks());
  }

  /** The provider's configuration as it reads it. */
  public get config(): any {
    const model: OidcDiscoveryProviderConfigModel = {
      domains: this.domains,
      insecureAddress: `:${HTTP_PORT}`,
      ...this.keySourceModel(),
      setKeyUse: this.props.setKeyUse ?? false,
      health: HEALTH,
      logLevel: this.props.logLevel ?? LogLevel.INFO,
      logFormat: this.props.logFormat,
      jwtIssuer: this.server.jwtIssuer,
      jwksUri: this.props.jwksUri,
      serverPathPrefix: this.issuerPath(),
    };
    return renderOidcDiscoveryProviderConfig(model);
  }

  /** The Service's port. */
  public get port(): number {
    return this.props.port ?? 80;
  }

  /** Where the provider reads the keys. */
  public get keySource(): OidcKeySource {
    return this.props.keySource ?? OidcKeySource.workloadApi();
  }

  private get replicas(): number {
    return this.props.replicas ?? 2;
  }

  /** The `workload_api` or the `file` source, with what the container mounts for it. */
  private keySourceModel(): Pick<OidcDiscoveryProviderConfigModel, 'workloadApi' | 'file'> {
    const bundle = this.keySource.bundle;
    if (bundle !== undefined) return { file: { path: `${BUNDLE_DIR}/${bundle.key}` } };
    const driver = this.props.csiDriver;
    // Without a CSI driver there is no socket to name; the checks stop the synth.
    if (driver === undefined) return {};
    return { workloadApi: { socketPath: `${WORKLOAD_API_DIR}/${driver.workloadApi.fileName}`, trustDomain: this.server.trustDomain } };
  }

  private configFile(): string {
    return renderJson(this.config);
  }

  /** Relying parties fetch `<issuer>/.well-known/openid-configuration`, so an issuer path is served as the prefix. */
  private issuerPath(): string | undefined {
    const issuer = this.server.jwtIssuer;
    if (issuer === undefined || checkJwtIssuer(issuer) !== undefined) return undefined;
    const pathname = new URL(issuer).pathname;
    return pathname === '/' ? undefined : pathname;
  }

  private serviceHostNames(): string[] {
    const service = `${this.name}.${this.namespace}.svc`;
    return [this.name, `${this.name}.${this.namespace}`, service, `${service}.${this.server.clusterDomain}`];
  }

  private get image(): string {
    const registry = this.props.imageRegistry ?? this.server.imageRegistry;
    return this.props.image ?? DefaultImages.fromRegistry(DefaultImages.OIDC_DISCOVERY_PROVIDER, registry);
  }

  private createDeployment(serviceAccount: kplus.ServiceAccount, config: kplus.ConfigMap): kplus.Deployment {
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: this.name, namespace: this.namespace },
      replicas: this.replicas,
      select: false,
      serviceAccount,
      automountServiceAccountToken: false,
      podMetadata: { labels: this.podLabels },
      securityContext: { ensureNonRoot: true, user: PROVIDER_UID, group: PROVIDER_UID },
    });
    deployment.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    dropAddressLabel(deployment);
    useRuntimeDefaultSeccomp(deployment);
    if (this.replicas > 1) spreadOverNodesAndZones(deployment, this.podLabels);
    annotateConfigChecksum(deployment, () => ({ [CONFIG_FILE]: this.configFile() }));
    const container = deployment.addContainer({
      name: 'oidc-discovery-provider',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: ['-config', `${CONFIG_DIR}/${CONFIG_FILE}`],
      ports: [{ name: 'http', number: HTTP_PORT }, { name: 'health', number: HEALTH.port }],
      liveness: httpProbe(HEALTH.livePath, HEALTH.port, 30, this.props.livenessProbe),
      readiness: httpProbe(HEALTH.readyPath, HEALTH.port, 5, this.props.readinessProbe),
      resources: resources({ cpuMillis: 10, memoryMiB: 32, memoryLimitMiB: 128 }),
      securityContext: restrictedSecurityContext(PROVIDER_UID),
    });
    applyContainerResources(deployment, container.name, this.props.resources);
    applyPodSpecSettings(deployment, this.props);
    addPodMetadata(deployment, this.props.podMetadata, this.ownPodMetadata);
    container.mount(CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', config, { name: 'config' }), { readOnly: true });
    this.mountKeySource(container);
    return deployment;
  }

  /** The bundle's ConfigMap key, or the agent's Workload API socket directory from the CSI driver. */
  private mountKeySource(container: kplus.Container): void {
    const bundle = this.keySource.bundle;
    if (bundle !== undefined) {
      const configMap = kplus.ConfigMap.fromConfigMapName(this, 'BundleConfigMap', bundle.name);
      const volume = kplus.Volume.fromConfigMap(this, 'BundleVolume', configMap, { name: 'bundle', items: { [bundle.key]: { path: bundle.key } } });
      container.mount(BUNDLE_DIR, volume, { readOnly: true });
      return;
    }
    const driver = this.props.csiDriver;
    if (driver === undefined) return;
    const workloadApi = kplus.Volume.fromCsi(this, 'WorkloadApi', driver.driverName, { name: 'spiffe-workload-api', readOnly: true });
    container.mount(WORKLOAD_API_DIR, workloadApi, { readOnly: true });
  }

  private createService(): kplus.Service {
    const service = new kplus.Service(this, 'Service', {
      metadata: { name: this.name, namespace: this.namespace },
      type: plusServiceType(this.props.serviceType ?? ServiceType.CLUSTER_IP),
      ports: [{ name: 'http', port: this.port, targetPort: HTTP_PORT, protocol: kplus.Protocol.TCP }],
    });
    selectPodLabels(service, this.podLabels);
    return service;
  }

  /** One rule per public domain, each sending the issuer's path (where relying parties look) to the Service. */
  private createIngress(options: OidcIngressOptions): ApiObject {
    const domains = this.props.domains;
    const backend = { service: { name: this.name, port: { number: this.port } } };
    return new KubeIngress(this, 'Ingress', {
      metadata: { name: this.name, namespace: this.namespace, annotations: options.annotations },
      spec: {
        ingressClassName: options.className,
        rules: domains.map((host) => ({ host, http: { paths: [{ path: this.issuerPath() ?? '/', pathType: 'Prefix', backend }] } })),
        tls: options.tlsSecretName === undefined ? undefined : [{ hosts: domains, secretName: options.tlsSecretName }],
      },
    });
  }

  private ingressChecks(): Check[] {
    const options = this.props.ingress;
    if (options === undefined) return [];
    return [
      ['ingress.className', options.className === undefined ? undefined : checkDnsSubdomain(options.className)],
      ['ingress.tlsSecretName', options.tlsSecretName === undefined ? undefined : checkDnsSubdomain(options.tlsSecretName)],
      ...Object.keys(options.annotations ?? {}).map((key): Check => ['ingress.annotations', checkAnnotationKey(key)]),
    ];
  }

  private checks(): Check[] {
    const props = this.props;
    return [
      ['name', checkDnsLabel(this.name)],
      ['namespace', checkDnsLabel(this.namespace)],
      ['namespace', this.identity === undefined ? undefined : this.checkNamespaceNotIgnored()],
      ...this.keySourceChecks(),
      ['domains', props.domains.length === 0 ? {
        value: '[]',
        rule: 'relying parties reach the provider at a public host name, and it refuses requests for hosts it does not know',
        fix: 'list the host name(s) your ingress serves it at, e.g. ["oidc.example.org"]',
      } : undefined],
      ...props.domains.map((domain): Check => ['domains', checkDnsSubdomain(domain)]),
      ['server', checkServerSignsJwtSvids(this.server, this.server.node.path, 'the discovery provider, which serves the keys of JWT-SVIDs,', 'remove the discovery provider')],
      ['server.jwtIssuer', this.issuerProblem()],
      ['replicas', checkReplicaCount(this.replicas)],
      ['port', checkPort(this.port)],
      ['imageRegistry', props.imageRegistry === undefined ? undefined : checkImageRegistry(props.imageRegistry)],
      ['image', checkPinnedImage(this.image)],
      ...podSpecChecks(props),
      ...podMetadataChecks(props.podMetadata, this.ownPodMetadata),
      ...probeTimingChecks('livenessProbe', props.livenessProbe, true),
      ...this.ingressChecks(),
      ['jwksUri', props.jwksUri === undefined ? undefined : checkJwksUri(props.jwksUri)],
      ...probeTimingChecks('readinessProbe', props.readinessProbe, false),
      ...resourceChecks('resources', props.resources),
    ];
  }

  /** The labels and annotations the provider's pod template carries of its own. */
  private get ownPodMetadata(): OwnPodMetadata {
    return { labels: this.podLabels, annotationKeys: [CONFIG_CHECKSUM_ANNOTATION] };
  }

  private keySourceChecks(): Check[] {
    const bundle = this.keySource.bundle;
    if (bundle === undefined) {
      return [['csiDriver', this.props.csiDriver !== undefined ? undefined : {
        value: 'none',
        rule: 'the Workload API key source reads the keys through the agent\'s socket, which only a SPIFFE CSI driver mounts into the provider\'s pods',
        fix: 'pass csiDriver, e.g. mesh.csiDriver, or read the keys from a ConfigMap with keySource: OidcKeySource.bundleConfigMap({ name, key })',
      }]];
    }
    return [
      ['keySource.name', checkDnsSubdomain(bundle.name)],
      ['keySource.key', isFileName(bundle.key) ? undefined : {
        value: bundle.key,
        rule: 'a ConfigMap key (and the file it is mounted as) holds only letters, digits, "-", "_" and "."',
        fix: 'use the key as the ConfigMap names it, e.g. "bundle.spiffe"',
      }],
    ];
  }

  /**
   * Without an issuer SPIRE puts no `iss` claim in JWT-SVIDs, which relying parties that discover
   * the keys reject; its host must be one the provider answers for, or they cannot fetch the keys.
   */
  private issuerProblem(): Problem | undefined {
    const issuer = this.server.jwtIssuer;
    if (issuer === undefined) {
      return {
        value: 'none',
        rule: `server ${this.server.node.path} signs JWT-SVIDs without an iss claim, which relying parties of the discovery provider ${this.node.path} reject`,
        fix: `set the server's jwtIssuer to the provider's public URL, e.g. "https://${this.props.domains[0] ?? 'oidc.example.org'}"`,
      };
    }
    // The server reports an issuer that is not a valid https URL.
    if (checkJwtIssuer(issuer) !== undefined) return undefined;
    const host = urlHost(issuer);
    if (this.props.domains.includes(host)) return undefined;
    return {
      value: issuer,
      rule: `relying parties fetch the keys from the issuer's host ${host}, which is not one of the provider's domains (${this.props.domains.join(', ') || 'none'})`,
      fix: `add "${host}" to domains, or set the server's jwtIssuer to a URL on one of them`,
    };
  }

  /** The controller manager registers no pod in a namespace it ignores, so the provider would get no keys. */
  private checkNamespaceNotIgnored(): Problem | undefined {
    const ignoredBy = this.server.ignoreNamespaces.find((pattern) => matchesAnywhere(pattern, this.namespace));
    if (ignoredBy === undefined) return undefined;
    return {
      value: this.namespace,
      rule: `the server's controller manager ignores it (pattern ${JSON.stringify(ignoredBy)}), so the provider gets no identity and no keys from the Workload API`,
      fix: 'give the provider a namespace of its own (the default), outside the server\'s ignoreNamespaces',
    };
  }
}

/** Whether a namespace pattern matches; one that does not compile is reported by the server. */
function matchesAnywhere(pattern: string, namespace: string): boolean {
  try {
    return new RegExp(pattern).test(namespace);
  } catch {
    return false;
  }
}

/** Relying parties fetch the keys over https from an absolute URL, as SPIRE requires one. */
function checkJwksUri(value: string): Problem | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol === 'https:' && url.host !== '') return undefined;
  return { value, rule: 'the keys\' URL is an absolute https URL, which relying parties fetch them from', fix: 'write it like "https://keys.example.org/keys", or leave jwksUri unset for the issuer\'s /keys' };
}
