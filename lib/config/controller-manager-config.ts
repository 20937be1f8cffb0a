import { WorkloadProbeOptions } from '../kube/probe';
import { requireProps } from '../validation/required';
import { LogFormat } from './log-format';
import { PrometheusEndpoint } from './metrics';
import { definedOnly, LogLevel } from './spire-config';

/**
 * Entries of earlier controller managers that the controller manager deletes:
 * the way from one `entryIdPrefix` (or none) to another.
 */
export class EntryIdCleanup {
  /**
   * Every entry whose ID has no ".": all entries a controller manager without
   * a prefix made, but also every entry made by hand without an ID of its own
   * (`spire-server entry create` gives it a UUID). Give those an ID with a "."
   * (`-entryID manual.<name>`) before.
   */
  public static unprefixed(): EntryIdCleanup {
    return new EntryIdCleanup('');
  }

  /** Every entry whose ID starts with `<prefix>.`: those of a controller manager that had this prefix. */
  public static withPrefix(prefix: string): EntryIdCleanup {
    requireProps('EntryIdCleanup.withPrefix', { prefix }, [['prefix', 'string', 'the previous entryIdPrefix, e.g. "prod"']]);
    return new EntryIdCleanup(prefix);
  }

  /**
   * @param previousPrefix the prefix whose entries are deleted; "" for entries without one
   */
  private constructor(public readonly previousPrefix: string) {}
}

/** When replicas of the controller manager take over its work from one another; Go durations. */
export interface LeaderElectionOptions {
  /** How long a lease lasts: how long replicas wait before a leader that stopped renewing is replaced. @default "15s", controller-runtime's */
  readonly leaseDuration?: string;
  /** How long the leader keeps retrying to renew before it gives up leading; shorter than leaseDuration. @default "10s", controller-runtime's */
  readonly renewDeadline?: string;
  /** Time between attempts to take or renew the lease; renewDeadline must exceed 1.2 times it. @default "2s", controller-runtime's */
  readonly retryPeriod?: string;
}

/**
 * Which resources the controller manager turns into SPIRE state. While one
 * entry kind is still reconciled, the entries it made earlier for a kind
 * turned off are deleted, as nothing declares them any more; with both off, or
 * for ClusterFederatedTrustDomains, what exists is left as it is.
 */
export interface ReconcileOptions {
  /** @default true */
  readonly clusterSpiffeIds?: boolean;
  /** @default true */
  readonly clusterStaticEntries?: boolean;
  /** @default true */
  readonly clusterFederatedTrustDomains?: boolean;
}

/** Settings of the SPIRE Controller Manager beside the server. */
export interface ControllerManagerOptions {
  /**
   * Prefix of the IDs of the entries the controller manager makes (letters,
   * digits, "-" and "_"; it adds the "." itself). With a prefix it manages only
   * entries with it, so entries made by hand or by other tools are kept; without
   * one it deletes every entry it did not make within one `gcInterval`.
   * Change it only with `entryIdPrefixCleanup`.
   * @default the cluster name, its dots as dashes
   */
  readonly entryIdPrefix?: string;
  /**
   * Delete the entries of an earlier prefix, or of none, which the controller
   * manager would otherwise keep beside its new ones; remove it once they are gone.
   * @default nothing is cleaned up
   */
  readonly entryIdPrefixCleanup?: EntryIdCleanup;
  /** How often it reconciles SPIRE's entries while nothing changes in the cluster (Go duration). @default "10s", the controller manager's */
  readonly gcInterval?: string;
  /** @default LogLevel.INFO, the controller manager's */
  readonly logLevel?: LogLevel;
  /** @default LogFormat.TEXT (console encoding), the controller manager's; LogFormat.JSON for log pipelines that parse fields */
  readonly logFormat?: LogFormat;
  /** @default controller-runtime's timings: lease 15s, renew deadline 10s, retry 2s */
  readonly leaderElection?: LeaderElectionOptions;
  /** Timing of the probe of /healthz. @default every 30s, Kubernetes' other defaults */
  readonly livenessProbe?: WorkloadProbeOptions;
  /** Timing of the probe of /readyz. @default every 5s, Kubernetes' other defaults */
  readonly readinessProbe?: WorkloadProbeOptions;
  /** @default every kind is reconciled */
  readonly reconcile?: ReconcileOptions;
  /**
   * Namespaces whose pods (and their Endpoints) the controller manager watches;
   * pods elsewhere get no entries. Narrows its cache in large clusters. A pod
   * of the output that a ClusterSPIFFEID of the class selects outside them
   * stops the synth.
   * @default every namespace
   */
  readonly cacheNamespaces?: string[];
}

export interface ControllerManagerConfigModel {
  readonly trustDomain: string;
  readonly clusterName: string;
  readonly clusterDomain: string;
  readonly className: string;
  readonly serverSocketPath: string;
  readonly ignoreNamespaces: readonly string[];
  readonly webhookConfigurationName: string;
  readonly leaderElectionNamespace: string;
  readonly healthPort: number;
  /** Undefined: metrics off. */
  readonly metrics?: PrometheusEndpoint;
  readonly watchClassless: boolean;
  /** Omitted: the controller manager's own default. */
  readonly parentIdTemplate?: string;
  readonly entryIdPrefix: string;
  readonly entryIdPrefixCleanup?: EntryIdCleanup;
  /** Nanoseconds, as the controller manager reads its `time.Duration`; omitted: its own default. */
  readonly gcIntervalNanoseconds?: number;
  readonly logLevel?: LogLevel;
  readonly logFormat?: LogFormat;
  readonly leaderElection?: LeaderElectionOptions;
  readonly reconcile?: ReconcileOptions;
  readonly cacheNamespaces?: readonly string[];
}

/** The SPIRE Controller Manager's `ControllerManagerConfig` file (YAML, written as JSON). */
export function renderControllerManagerConfig(model: ControllerManagerConfigModel): object {
  return {
    apiVersion: 'spire.spiffe.io/v1alpha1',
    kind: 'ControllerManagerConfig',
    metrics: { bindAddress: renderMetricsBindAddress(model.metrics) },
    health: { healthProbeBindAddress: `0.0.0.0:${model.healthPort}` },
    leaderElection: {
      leaderElect: true,
      resourceName: `${model.className}-controller-manager`,
      resourceNamespace: model.leaderElectionNamespace,
      ...definedOnly({ ...model.leaderElection }),
    },
    validatingWebhookConfigurationName: model.webhookConfigurationName,
    clusterName: model.clusterName,
    clusterDomain: model.clusterDomain,
    trustDomain: model.trustDomain,
    className: model.className,
    watchClassless: model.watchClassless,
    ignoreNamespaces: [...model.ignoreNamespaces],
    ...(model.parentIdTemplate === undefined ? {} : { parentIDTemplate: model.parentIdTemplate }),
    entryIDPrefix: model.entryIdPrefix,
    ...(model.entryIdPrefixCleanup === undefined ? {} : { entryIDPrefixCleanup: model.entryIdPrefixCleanup.previousPrefix }),
    ...definedOnly({
      gcInterval: model.gcIntervalNanoseconds,
      logLevel: model.logLevel?.toLowerCase(),
      logEncoding: model.logFormat === undefined ? undefined : LOG_ENCODINGS[model.logFormat],
      reconcile: model.reconcile === undefined ? undefined : renderReconcile(model.reconcile),
      cacheNamespaces: model.cacheNamespaces === undefined ? undefined : Object.fromEntries(model.cacheNamespaces.map((namespace) => [namespace, {}])),
    }),
    spireServerSocketPath: model.serverSocketPath,
  };
}

const LOG_ENCODINGS: Record<LogFormat, string> = { [LogFormat.TEXT]: 'console', [LogFormat.JSON]: 'json' };

/** The config's `reconcile` keys and the kinds they stand for. */
const RECONCILED_KINDS = {
  clusterSPIFFEIDs: 'ClusterSPIFFEID',
  clusterStaticEntries: 'ClusterStaticEntry',
  clusterFederatedTrustDomains: 'ClusterFederatedTrustDomain',
} as const;

// A `reconcile` block replaces the controller manager's defaults as a whole: every kind is written.
function renderReconcile(reconcile: ReconcileOptions): Record<keyof typeof RECONCILED_KINDS, boolean> {
  return {
    clusterSPIFFEIDs: reconcile.clusterSpiffeIds ?? true,
    clusterStaticEntries: reconcile.clusterStaticEntries ?? true,
    clusterFederatedTrustDomains: reconcile.clusterFederatedTrustDomains ?? true,
  };
}

/** The config's `reconcile` key for a kind. */
export function reconcileKeyOf(kind: string | undefined): string | undefined {
  return Object.entries(RECONCILED_KINDS).find(([, reconciled]) => reconciled === kind)?.[0];
}

/** Whether a controller manager with this (rendered) config handles a resource of the class. */
export function handlesClass(config: any, className: string | undefined): boolean {
  if (config.className === undefined) return className === undefined;
  return className === config.className || (className === undefined && config.watchClassless === true);
}

/** The resources of a controller manager's class whose kind its (rendered) config does not reconcile. */
export function unreconciledResources<T extends { readonly kind?: string; readonly spec?: any }>(config: any, resources: readonly T[]): T[] {
  if (config.reconcile === undefined) return [];
  const off: string[] = Object.entries(RECONCILED_KINDS).filter(([key]) => config.reconcile[key] !== true).map(([, kind]) => kind);
  return resources.filter((resource) => off.includes(resource.kind ?? '') && handlesClass(config, resource.spec?.className));
}

// controller-runtime serves no metrics for the bind address "0".
function renderMetricsBindAddress(metrics: PrometheusEndpoint | undefined): string {
  return metrics === undefined ? '0' : `${metrics.host}:${metrics.port}`;
}
