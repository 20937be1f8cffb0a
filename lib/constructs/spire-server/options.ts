import { BundlePublisher } from '../../config/bundle-publisher';
import { ControllerManagerOptions } from '../../config/controller-manager-config';
import { BundleEndpointOptions } from '../../config/federation-config';
import { CaKeyType, CaSubject, KeyManager } from '../../config/key-manager';
import { Metrics } from '../../config/metrics';
import { NodeAttestor } from '../../config/node-attestor';
import { ServerDatastore } from '../../config/server-config';
import { ServerSettingsOptions } from '../../config/server-settings';
import { LogLevel } from '../../config/spire-config';
import { UpstreamAuthority } from '../../config/upstream-authority';
import { ContainerResourceSpec, PodMetadataOptions, PodPlacementOptions, PodPriority, TolerationSpec } from '../../kube/pod-settings';
import { WorkloadProbeOptions } from '../../kube/probe';
import { ServiceType } from '../../kube/service-type';
import { StorageAccessMode } from '../../kube/storage-access-mode';

/** Settings of a SPIRE server besides its identity (trust domain and cluster). */
export interface SpireServerOptions extends PodPlacementOptions, ServerSettingsOptions {
  /** Namespace of the server; it can run under the restricted Pod Security level. @default the name */
  readonly namespace?: string;
  /** Name of the StatefulSet, its Service, service account and PodDisruptionBudget; the headless Service is `<name>-headless`. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /**
   * Server replicas. More than one needs an external datastore and a key
   * manager that keeps each replica's CA key across restarts; they then get a
   * PodDisruptionBudget and are spread over nodes and zones.
   * @default 1
   */
  readonly replicas?: number;
  /** @default ServerDatastore.sqlite(), on a 1Gi PersistentVolumeClaim per replica */
  readonly datastore?: ServerDatastore;
  /**
   * Where each replica keeps its CA's private keys.
   * @default KeyManager.disk(), on the replica's PersistentVolumeClaim
   */
  readonly keyManager?: KeyManager;
  /** Key type of the server CA, X.509 and, unless `jwtKeyType` is set, JWT (`ca_key_type`). @default SPIRE's own, CaKeyType.EC_P256 */
  readonly caKeyType?: CaKeyType;
  /** Subject of the server's CA certificates (`ca_subject`). @default SPIRE's own subject */
  readonly caSubject?: CaSubject;
  /**
   * Size of each replica's data volume (sqlite database, CA keys or the
   * replica's KMS key identifier); there is none with an external datastore
   * and `KeyManager.memory()`.
   * @default "1Gi"
   */
  readonly storageSize?: string;
  /** StorageClass of the data volume. @default the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** gRPC port the agents connect to. @default 8081 */
  readonly port?: number;
  /** Lifetime of the server's signing CA (Go duration). @default "24h" */
  readonly caTtl?: string;
  /** Default lifetime of X.509 SVIDs (Go duration). @default "1h" */
  readonly x509SvidTtl?: string;
  /**
   * Default lifetime of JWT-SVIDs (Go duration, SPIRE's `default_jwt_svid_ttl`);
   * keep it short, a JWT cannot be revoked.
   * @default SPIRE's own default (5 minutes)
   */
  readonly jwtSvidTtl?: string;
  /**
   * The `iss` claim of every JWT-SVID (SPIRE's `jwt_issuer`): the https URL a
   * SpireOidcDiscoveryProvider serves the keys at, which cloud IAM trusts as an
   * OpenID Connect provider. Its host must be one of the provider's domains.
   * @default no `iss` claim
   */
  readonly jwtIssuer?: string;
  /** @default LogLevel.INFO */
  readonly logLevel?: LogLevel;
  /**
   * The CA that signs the server's X.509 CA (SPIRE's UpstreamAuthority plugin),
   * so that SVIDs chain up to an existing PKI. Its credentials reach the server
   * as read-only Secret volumes, variables from Secrets or a service account
   * token projected for it, never through the ConfigMap.
   * @default none: the server's CA is self-signed
   */
  readonly upstreamAuthority?: UpstreamAuthority;
  /**
   * Prometheus metrics of the server (SPIRE's `telemetry` block) and of the
   * controller manager, which serves them on port 8082 of the same host. Each
   * gets a named container port, and the pod the `prometheus.io/*` scrape
   * annotations for the server's.
   * @default Metrics.prometheus(): port 9988 on every address
   */
  readonly metrics?: Metrics;
  /**
   * Class name of the controller manager; it reconciles only ClusterSPIFFEIDs
   * with this `className`. @default "<namespace>-spire"
   */
  readonly className?: string;
  /**
   * Namespaces whose pods the controller manager never registers. Each entry is
   * a regular expression (Go RE2) matched anywhere in the name: anchor it
   * yourself (`^team-a$`), or `spire` also ignores `team-spire-dev`. The agent's
   * namespace is always added.
   * @default ^kube-system$, ^kube-public$, ^kube-node-lease$, ^istio-system$ and the server's namespace, anchored
   */
  readonly ignoreNamespaces?: string[];
  /**
   * Template of the parent ID the controller manager gives pod entries; it is
   * rendered with node fields only (`.NodeMeta.*`, `.NodeSpec.*`, `.TrustDomain`,
   * `.ClusterName`, `.ClusterDomain`). Pods get SVIDs only from agents with that
   * ID, so change it only for agents attested otherwise than with `k8s_psat`.
   * @default the controller manager's own: "spiffe://{{ .TrustDomain }}/spire/agent/k8s_psat/{{ .ClusterName }}/{{ .NodeMeta.UID }}"
   */
  readonly parentIdTemplate?: string;
  /**
   * Also reconcile ClusterSPIFFEIDs, ClusterStaticEntries and
   * ClusterFederatedTrustDomains that have no `className`, e.g. ones other tools apply.
   * @default false
   */
  readonly watchClassless?: boolean;
  /** What the API server does with ClusterSPIFFEIDs and ClusterFederatedTrustDomains while the controller manager's webhook cannot be called. @default WebhookFailurePolicy.FAIL */
  readonly webhookFailurePolicy?: WebhookFailurePolicy;
  /**
   * DNS domain of the cluster's Services, for the DNS names the controller
   * manager puts into SVIDs (`autoPopulateDnsNames`). Stated so that it does not
   * depend on the controller manager guessing it from DNS at start.
   * @default "cluster.local"
   */
  readonly clusterDomain?: string;
  /** PriorityClass of the server pods. @default PodPriority.NONE */
  readonly priority?: PodPriority;
  /** Taints the server pods tolerate. @default none */
  readonly tolerations?: TolerationSpec[];
  /** Resources of the spire-server container. @default requests cpu 100m, memory 128Mi; limits memory 512Mi */
  readonly resources?: ContainerResourceSpec;
  /** Resources of the spire-controller-manager container. @default requests cpu 50m, memory 64Mi; limits memory 256Mi */
  readonly controllerManagerResources?: ContainerResourceSpec;
  /**
   * Registry (host, optional port and path) the default images are pulled from
   * instead of their own, e.g. a mirror: `registry.example.com/ghcr` pulls
   * `registry.example.com/ghcr/spiffe/spire-server:1.15.3`. The agent and the
   * CSI driver use it too unless they set their own; images set explicitly are used as given.
   * @default each default image's own registry
   */
  readonly imageRegistry?: string;
  /** @default DefaultImages.SPIRE_SERVER, from `imageRegistry` when set */
  readonly image?: string;
  /** @default DefaultImages.SPIRE_CONTROLLER_MANAGER, from `imageRegistry` when set */
  readonly controllerManagerImage?: string;
  /**
   * Entry ID prefix, garbage collection, logs, leader election, probes,
   * reconciled kinds and watched namespaces of the controller manager.
   * @default ControllerManagerOptions' defaults: entries carry the cluster name as prefix
   */
  readonly controllerManager?: ControllerManagerOptions;
  /**
   * Serve the trust bundle to other trust domains on SPIRE's federation bundle
   * endpoint, behind a Service of its own, so that their servers can federate
   * with this one (see ClusterFederatedTrustDomain and `federationPartner`).
   * @default no bundle endpoint
   */
  readonly bundleEndpoint?: BundleEndpointOptions;
  /**
   * Node attestors for agents outside the cluster, e.g. on the virtual
   * machines a ClusterStaticEntry names as parents; each plugin once.
   * `k8s_psat`, which attests the agents of the cluster, always stays on.
   * @default none besides k8s_psat
   */
  readonly nodeAttestors?: NodeAttestor[];
  /**
   * Places the server publishes its trust bundle to and keeps current, besides
   * the agents' ConfigMap, which it always writes; each plugin once.
   * @default none besides the agents' ConfigMap
   */
  readonly bundlePublishers?: BundlePublisher[];

  // The server's pod and Services.
  /**
   * Timing of the liveness probe, a TCP connection to the health port. Not
   * SPIRE's /live, which fails while the datastore does not answer, when a
   * restart cannot help: a datastore outage of any length restarts no replica.
   * @default every 30s, failing after 3 failures
   */
  readonly livenessProbe?: WorkloadProbeOptions;
  /** Timing of the readiness probe, HTTP /ready on the health port. @default every 5s, failing after 3 failures */
  readonly readinessProbe?: WorkloadProbeOptions;
  /** Labels and annotations added to the server's pods. @default none */
  readonly podMetadata?: PodMetadataOptions;
  /** Seconds a server pod has to stop after SIGTERM before it is killed. @default Kubernetes' 30 */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Type of the Service agents connect to: a load balancer or node port for
   * agents outside the cluster. @default ServiceType.CLUSTER_IP, for the agents in the cluster
   */
  readonly serviceType?: ServiceType;
  /** Annotations of the Service agents connect to, e.g. a cloud load balancer's settings. @default none */
  readonly serviceAnnotations?: { [key: string]: string };
  /** Access mode of each replica's data volume. @default StorageAccessMode.READ_WRITE_ONCE */
  readonly storageAccessMode?: StorageAccessMode;
  /**
   * A HorizontalPodAutoscaler that sets the replicas by CPU use, instead of
   * `replicas`. Its `maxReplicas` must be possible as `replicas` would be: an
   * external datastore and a key manager that keeps each replica's CA key.
   * @default no autoscaler: `replicas` replicas
   */
  readonly autoscaling?: ServerAutoscalingOptions;
}

/** How a HorizontalPodAutoscaler scales the server's StatefulSet. */
export interface ServerAutoscalingOptions {
  /** Fewest replicas. @default 2, so that one replica's restart does not stop the server */
  readonly minReplicas?: number;
  /** Most replicas; more than `minReplicas`. */
  readonly maxReplicas: number;
  /** Average CPU use, in percent of the CPU request, the autoscaler keeps the replicas at. @default 80 */
  readonly targetCpuUtilizationPercent?: number;
  /**
   * Scale on the spire-server container's CPU use alone, not the whole pod's
   * with the controller manager, whose work does not grow with more replicas.
   * @default false
   */
  readonly serverContainerOnly?: boolean;
}

export interface SpireServerProps extends SpireServerOptions {
  /** Trust domain of every SPIFFE ID this server signs, e.g. `example.org`. */
  readonly trustDomain: string;
  /** Name of this Kubernetes cluster in SPIRE (`k8s_psat` cluster, controller manager `clusterName`). */
  readonly clusterName: string;
}

/** What the API server does when the controller manager's validating webhook cannot be called. */
export enum WebhookFailurePolicy {
  /** Refuse the change until the controller manager answers: nothing unvalidated is stored. */
  FAIL = 'Fail',
  /** Store the change unvalidated; an invalid spec then shows only in the controller manager's logs. */
  IGNORE = 'Ignore',
}
