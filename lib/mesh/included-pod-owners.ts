import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { POD_TEMPLATE_PATHS } from '../kube/pod-template';
import { enableSpireIdentity, SpireIdentityOptions } from './spire-identity';

/** Chooses objects of an Include, for rules a selection cannot express. */
export interface IApiObjectPredicate {
  /** Whether this object is chosen. */
  matches(apiObject: ApiObject): boolean;
}

/** Which pod owners of an Include get a SPIRE identity; every condition given must hold. */
export interface IncludedWorkloadOptions extends SpireIdentityOptions {
  /** Kinds to choose, e.g. ["Deployment"]. @default every pod-owning kind */
  readonly kinds?: string[];
  /** Object names to choose. @default any name */
  readonly names?: string[];
  /** Labels the object itself (not its pods) must carry. @default any labels */
  readonly matchLabels?: { [key: string]: string };
  /** A rule of your own. @default every object */
  readonly predicate?: IApiObjectPredicate;
}

/** A construct holding the objects of a manifest: a cdk8s Include or a LocalInclude. */
export interface IncludedObjects extends IConstruct {
  readonly apiObjects: ApiObject[];
}

/**
 * Gives the pod owners of an included manifest a SPIRE identity, all of them
 * or those the options choose. Choosing none is an error.
 */
export function enableIncludedPodOwners(include: IncludedObjects, options: IncludedWorkloadOptions): ApiObject[] {
  const chosen = include.apiObjects.filter((apiObject) => isChosen(apiObject, options));
  if (chosen.length === 0) {
    throw new Error(`${include.node.path}: no pod owner of the Include matches the options (kinds ${JSON.stringify(options.kinds ?? 'any')}, names ${JSON.stringify(options.names ?? 'any')}, matchLabels ${JSON.stringify(options.matchLabels ?? {})}). Fix: widen the selection, or check the file holds Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs or Pods.`);
  }
  return chosen.map((apiObject) => enableSpireIdentity(apiObject, options, options.profile.sidecarTemplates));
}

function isChosen(apiObject: ApiObject, options: IncludedWorkloadOptions): boolean {
  const labels = options.matchLabels ?? {};
  return apiObject.kind in POD_TEMPLATE_PATHS
    && (options.kinds === undefined || options.kinds.includes(apiObject.kind))
    && (options.names === undefined || options.names.includes(apiObject.name))
    && Object.entries(labels).every(([key, value]) => apiObject.metadata.getLabel(key) === value)
    && (options.predicate === undefined || options.predicate.matches(apiObject));
}
