/**
 * Pod settings users pass as plain values, so that apps on any cdk8s-plus
 * version can state them. They are written into the rendered pod template as
 * given; only settings that are set are written.
 */
import { IConstruct } from 'constructs';
import { changeRendered } from './objects';
import { checkAnnotationKey, checkCanonicalQuantity, checkDnsSubdomain, checkLabelKey, checkLabelValue, Problem } from '../validation/rules';
import { Check } from '../validation/validate';
import { requireProps } from '../validation/required';

/** Requests and memory limit of one container; CPU is left unlimited to avoid throttling the data path. */
export interface ContainerSizing {
  /** CPU request in millicores. */
  readonly cpuMillis: number;
  /** Memory request in MiB. */
  readonly memoryMiB: number;
  /** Memory limit in MiB. */
  readonly memoryLimitMiB: number;
}

/** Which PriorityClass the pods run with. */
export class PodPriority {
  /** Kubernetes' built-in class for pods every node needs: scheduled first, evicted last. */
  public static readonly SYSTEM_NODE_CRITICAL = new PodPriority('system-node-critical');
  /** Kubernetes' built-in class for services the whole cluster needs. */
  public static readonly SYSTEM_CLUSTER_CRITICAL = new PodPriority('system-cluster-critical');
  /** No priorityClassName: the cluster's default priority. */
  public static readonly NONE = new PodPriority();

  /** A PriorityClass of the cluster, by name. */
  public static of(priorityClassName: string): PodPriority {
    requireProps('PodPriority.of', { priorityClassName }, [['priorityClassName', 'string', 'the name of a PriorityClass of the cluster']]);
    return new PodPriority(priorityClassName);
  }

  private constructor(public readonly priorityClassName?: string) {}
}

/** Requests and limits of a container as Kubernetes quantities, e.g. `{ requests: { cpu: "100m", memory: "128Mi" } }`. */
export interface ContainerResourceSpec {
  /** @default none */
  readonly requests?: { [resource: string]: string };
  /** @default none */
  readonly limits?: { [resource: string]: string };
}

export enum TolerationOperator {
  /** The taint has the key and the value. */
  EQUAL = 'Equal',
  /** The taint has the key, with any value; without a key, every taint. */
  EXISTS = 'Exists',
}

export enum TolerationEffect {
  NO_SCHEDULE = 'NoSchedule',
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  NO_EXECUTE = 'NoExecute',
}

/** A toleration as a pod spec states it. */
export interface TolerationSpec {
  /** @default every key (with TolerationOperator.EXISTS) */
  readonly key?: string;
  /** @default TolerationOperator.EQUAL */
  readonly operator?: TolerationOperator;
  /** @default empty */
  readonly value?: string;
  /** @default every effect */
  readonly effect?: TolerationEffect;
  /** How long the pod stays on a node tainted NoExecute. @default forever */
  readonly tolerationSeconds?: number;
}

/** Affinity rules as a pod spec states them (the same field names, plain JSON). */
export interface AffinitySpec {
  /** @default none */
  readonly nodeAffinity?: any;
  /** @default none */
  readonly podAffinity?: any;
  /** @default none */
  readonly podAntiAffinity?: any;
}

/** Where the pods of a SPIRE component run and what they authenticate with, as plain values. */
export interface PodPlacementOptions {
  /** Labels a node must carry to run the pods. @default any node */
  readonly nodeSelector?: { [key: string]: string };
  /** Affinity rules of the pods. @default none */
  readonly affinity?: AffinitySpec;
  /** Secrets in the component's namespace that hold credentials for pulling its images. @default none */
  readonly imagePullSecrets?: string[];
  /**
   * Annotations of the component's service account, e.g.
   * `eks.amazonaws.com/role-arn` (IRSA), `iam.gke.io/gcp-service-account` (GKE Workload Identity)
   * or `azure.workload.identity/client-id` (Azure Workload Identity, whose pod label the server
   * gets from `KeyManager.azureKeyVault`).
   * @default none
   */
  readonly serviceAccountAnnotations?: { [key: string]: string };
}

/** The pod spec settings of one workload. */
export interface PodSpecSettings extends PodPlacementOptions {
  readonly priority?: PodPriority;
  /** Replace the workload's tolerations; an empty list removes them. */
  readonly tolerations?: TolerationSpec[];
}

/** Writes the settings that are set into the workload's rendered pod spec. */
export function applyPodSpecSettings(workload: IConstruct, settings: PodSpecSettings): void {
  const fields = definedFields({
    affinity: nonEmptyObject(settings.affinity),
    imagePullSecrets: nonEmptyList(settings.imagePullSecrets)?.map((name) => ({ name })),
    nodeSelector: nonEmptyObject(settings.nodeSelector),
    priorityClassName: settings.priority?.priorityClassName,
    tolerations: nonEmptyList(settings.tolerations),
  });
  const dropTolerations = settings.tolerations !== undefined && settings.tolerations.length === 0;
  if (Object.keys(fields).length === 0 && !dropTolerations) return;
  changeRendered(workload, (rendered) => {
    const { tolerations, ...spec } = rendered.spec.template.spec;
    rendered.spec.template.spec = sortedKeys({ ...spec, ...(dropTolerations ? {} : { tolerations }), ...fields });
  });
}

/** Replaces the resources of one container of the workload's rendered pod spec. */
export function applyContainerResources(workload: IConstruct, containerName: string, resources: ContainerResourceSpec | undefined): void {
  if (resources === undefined) return;
  const spec = definedFields({ limits: nonEmptyObject(resources.limits), requests: nonEmptyObject(resources.requests) });
  changeRendered(workload, (rendered) => {
    const container = rendered.spec.template.spec.containers.find((candidate: any) => candidate.name === containerName);
    if (Object.keys(spec).length === 0) delete container.resources;
    else container.resources = spec;
  });
}

/** The synth-time checks of pod spec settings, named after the props. */
export function podSpecChecks(settings: PodSpecSettings): Check[] {
  return [
    ['priority', settings.priority?.priorityClassName === undefined ? undefined : checkDnsSubdomain(settings.priority.priorityClassName)],
    ...Object.entries(settings.nodeSelector ?? {}).flatMap(([key, value]): Check[] => [['nodeSelector', checkLabelKey(key)], ['nodeSelector', checkLabelValue(value)]]),
    ...(settings.imagePullSecrets ?? []).map((name): Check => ['imagePullSecrets', checkDnsSubdomain(name)]),
    ...Object.keys(settings.serviceAccountAnnotations ?? {}).map((key): Check => ['serviceAccountAnnotations', checkAnnotationKey(key)]),
    ...(settings.tolerations ?? []).map((toleration): Check => ['tolerations', checkToleration(toleration)]),
  ];
}

/** The synth-time checks of a container's resources. */
export function resourceChecks(what: string, resources: ContainerResourceSpec | undefined): Check[] {
  return [...Object.values(resources?.requests ?? {}), ...Object.values(resources?.limits ?? {})]
    .map((quantity): Check => [what, checkCanonicalQuantity(quantity)]);
}

function checkToleration(toleration: TolerationSpec): Problem | undefined {
  const value = JSON.stringify(toleration);
  if (toleration.operator === TolerationOperator.EXISTS && toleration.value) {
    return { value, rule: 'a toleration with operator Exists matches any value, so the API server refuses one with a value', fix: 'drop the value, or use TolerationOperator.EQUAL' };
  }
  if (toleration.key === undefined && toleration.operator !== TolerationOperator.EXISTS) {
    return { value, rule: 'a toleration without a key must have operator Exists', fix: 'set the key, or operator TolerationOperator.EXISTS' };
  }
  if (toleration.tolerationSeconds !== undefined && toleration.effect !== TolerationEffect.NO_EXECUTE) {
    return { value, rule: 'tolerationSeconds applies to NoExecute taints only', fix: 'set effect TolerationEffect.NO_EXECUTE, or drop tolerationSeconds' };
  }
  return undefined;
}

function definedFields(fields: { [key: string]: unknown }): { [key: string]: unknown } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function nonEmptyList<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

function nonEmptyObject<T extends object>(object: T | undefined): T | undefined {
  return object && Object.keys(object).length > 0 ? object : undefined;
}

function sortedKeys(object: { [key: string]: unknown }): { [key: string]: unknown } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}

/** Labels and annotations added to a component's pods. */
export interface PodMetadataOptions {
  /** Labels added to the pods; the component's selector labels cannot be replaced. @default none */
  readonly labels?: { [key: string]: string };
  /** Annotations added to the pods; those the component sets itself cannot be replaced. @default none */
  readonly annotations?: { [key: string]: string };
}
