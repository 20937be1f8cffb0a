import { ApiObject, ApiObjectMetadataDefinition, JsonPatch } from 'cdk8s';
import { IConstruct } from 'constructs';
import { ClusterSpiffeId } from '../constructs/cluster-spiffe-id';
import { IstioSpireProfile } from '../constructs/istio-spire-profile';
import { MeshNamespace } from '../constructs/mesh-namespace';
import { INJECT_TEMPLATES_ANNOTATION, injectionEnabled, ISTIO_DATAPLANE_MODE_LABEL, ISTIO_INJECTION_LABEL, ISTIO_REVISION_LABEL, SIDECAR_INJECT_LABEL } from '../istio/names';
import { podTemplateIn, podTemplatePointer, pointerKey } from '../kube/pod-template';
import { selectorKeys } from '../kube/label-selector';
import { Problem } from '../validation/rules';
import { ApplyStage, ApplyStages } from './apply-stage';
import { registerLayoutChecks } from './layout-checks';
import { Check, validateAtSynth } from '../validation/validate';

/** What makes a workload's pods take their identity from SPIRE through Istio. */
export interface SpireIdentityOptions {
  /** The Istio profile whose templates mount the SPIRE socket into istio-proxy. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that must select the pods; its selector labels are added to them. */
  readonly identity: ClusterSpiffeId;
  /**
   * The namespace the workload runs in; Istio injection must be enabled there.
   * @default the MeshNamespace known to the app by the workload's metadata.namespace
   */
  readonly namespace?: MeshNamespace;
  /**
   * Accept pods that run as their namespace's `default` service account. Every
   * such pod of the namespace gets the same ID,
   * `spiffe://<trust domain>/ns/<namespace>/sa/default`, so no authorization
   * policy can tell them apart.
   * @default false: a pod running as `default` is a synth error; give the workload a ServiceAccount of its own
   */
  readonly allowDefaultServiceAccount?: boolean;
}

/** The service account Kubernetes runs a pod as when its spec names none. */
const DEFAULT_SERVICE_ACCOUNT = 'default';

const enabledByRoot = new WeakMap<IConstruct, ApiObject[]>();
const guardedByRoot = new WeakMap<IConstruct, Set<ApiObject>>();

/** Records a pod owner an Istio ALLOW policy guards, for the federation check. */
export function recordAllowPolicy(scope: IConstruct, podOwner: ApiObject): void {
  guardedByRoot.set(scope.node.root, new Set([...guardedByRoot.get(scope.node.root) ?? [], podOwner]));
}

/** Every pod owner given a SPIRE identity in the app holding `scope`. */
export function spireEnabledPods(scope: IConstruct): ApiObject[] {
  return enabledByRoot.get(scope.node.root) ?? [];
}

/** The pod template metadata and service account of a workload, read as cheaply as its kind allows. */
export interface PodView {
  readonly labels: { [key: string]: string };
  readonly annotations: { [key: string]: string };
  readonly serviceAccountName: string;
  readonly namespace?: string;
}

/** The part of a cdk8s-plus workload (any version) the checks use, without depending on its classes. */
interface PlusWorkloadLike {
  readonly podMetadata: ApiObjectMetadataDefinition;
  readonly metadata: ApiObjectMetadataDefinition;
}

function asPlusWorkload(construct: IConstruct): PlusWorkloadLike | undefined {
  const candidate = construct as Partial<PlusWorkloadLike>;
  return candidate.podMetadata instanceof ApiObjectMetadataDefinition && candidate.metadata instanceof ApiObjectMetadataDefinition
    ? candidate as PlusWorkloadLike
    : undefined;
}

/** The API object of a pod owner; a clear error for anything else. */
function podOwnerObject(workload: IConstruct): ApiObject {
  let apiObject: ApiObject;
  try {
    apiObject = ApiObject.of(workload);
  } catch {
    throw new Error(`${workload.node.path}: not a Kubernetes object. Fix: pass a pod owner (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod) or the construct that defines one.`);
  }
  if (podTemplatePointer(apiObject.kind) === undefined) {
    throw new Error(`${workload.node.path}: a ${apiObject.kind} owns no pods, so it cannot get a SPIRE identity. Fix: pass a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod.`);
  }
  return apiObject;
}

/**
 * Labels a workload's pods for its ClusterSPIFFEID, asks for the injection
 * templates (e.g. "sidecar,spire") and registers the mesh checks. Takes any
 * construct that defines a pod owner: a cdk8s-plus workload of any version, a
 * raw ApiObject or one loaded by an Include.
 */
export function enableSpireIdentity(workload: IConstruct, options: SpireIdentityOptions, templates: string): ApiObject {
  const apiObject = podOwnerObject(workload);
  const annotations = { [INJECT_TEMPLATES_ANNOTATION]: templates };
  const plus = asPlusWorkload(workload);
  if (plus) {
    for (const [key, value] of Object.entries(options.identity.podLabels)) plus.podMetadata.addLabel(key, value);
    for (const [key, value] of Object.entries(annotations)) plus.podMetadata.addAnnotation(key, value);
  } else {
    patchPodMetadata(apiObject, options.identity.podLabels, annotations);
  }
  enabledByRoot.set(workload.node.root, [...spireEnabledPods(workload), apiObject]);
  ApplyStages.stage(apiObject, ApplyStage.WORKLOADS, {
    construct: options.profile,
    reason: 'istio-proxy looks for the SPIRE socket once, at start, so Istio with the SPIRE templates must be installed first',
  });
  registerLayoutChecks(workload);
  // Read off the rendered object, so that the checks see JSON patches too.
  validateAtSynth(workload, () => meshPodChecks(workload, objectPodView(apiObject), options, templates.split(',')));
  if (templates !== options.profile.gatewayTemplates) validateAtSynth(workload, () => [['identity', checkFederatedAuthorization(apiObject, options)]]);
  return apiObject;
}

/**
 * Istio accepts a federated trust domain's peers mesh-wide, and a pod whose
 * identity federates holds the partner's bundle, so only an ALLOW policy
 * keeps the rest of the partner's workloads out.
 */
function checkFederatedAuthorization(apiObject: ApiObject, options: SpireIdentityOptions): Problem | undefined {
  const partners = options.identity.federatesWith.map((domain) => domain.trustDomain);
  if (partners.length === 0 || !options.profile.requireFederatedAuthorization || guardedByRoot.get(apiObject.node.root)?.has(apiObject)) return undefined;
  return {
    value: `${options.identity.name} federates with ${partners.join(', ')}`,
    rule: `istiod accepts peers of ${partners.join(', ')} mesh-wide (meshConfig.caCertificates) and this pod's proxy holds their bundles, so without an ALLOW policy every workload of ${partners.join(', ')} gets in`,
    fix: 'guard the workload with a SpiffeAuthorizationPolicy that names its callers, or set requireFederatedAuthorization: false on the IstioSpireProfile and write an ALLOW policy of your own',
  };
}

/** Adds labels and annotations to the pod template of an object cdk8s-plus does not manage. */
function patchPodMetadata(apiObject: ApiObject, labels: { [key: string]: string }, annotations: { [key: string]: string }): void {
  const pointer = `${podTemplatePointer(apiObject.kind)}/metadata`;
  const metadata = podTemplateIn(apiObject.toJson())?.metadata;
  if (metadata === undefined) {
    apiObject.addJsonPatch(JsonPatch.add(pointer, { labels, annotations }));
    return;
  }
  for (const [field, values] of [['labels', labels], ['annotations', annotations]] as const) {
    if (metadata[field] === undefined) {
      apiObject.addJsonPatch(JsonPatch.add(`${pointer}/${field}`, values));
      continue;
    }
    for (const [key, value] of Object.entries(values)) {
      apiObject.addJsonPatch(JsonPatch.add(`${pointer}/${field}/${pointerKey(key)}`, value));
    }
  }
}

/** The pod template metadata and service account of any pod owner, read off its rendered object. */
export function objectPodView(apiObject: ApiObject): PodView {
  const json = apiObject.toJson();
  const template = podTemplateIn(json) ?? {};
  return {
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    serviceAccountName: template.spec?.serviceAccountName ?? template.spec?.serviceAccount ?? DEFAULT_SERVICE_ACCOUNT,
    namespace: json.metadata?.namespace,
  };
}

function meshPodChecks(scope: IConstruct, pod: PodView, options: SpireIdentityOptions, requiredTemplates: string[]): Check[] {
  const checks: Check[] = [
    ['pod label', pod.labels[SIDECAR_INJECT_LABEL] === 'false' ? {
      value: `${SIDECAR_INJECT_LABEL}=false`,
      rule: 'the pod opts out of injection, so istio-proxy never mounts the SPIRE socket',
      fix: `remove the ${SIDECAR_INJECT_LABEL} label`,
    } : undefined],
    [INJECT_TEMPLATES_ANNOTATION, checkTemplates(pod.annotations[INJECT_TEMPLATES_ANNOTATION], requiredTemplates)],
    ['service account', checkOwnServiceAccount(pod, options)],
    ['identity trust domain', options.identity.trustDomain === options.profile.trustDomain ? undefined : {
      value: options.identity.trustDomain,
      rule: `the ClusterSPIFFEID signs for ${options.identity.trustDomain} but the mesh trusts ${options.profile.trustDomain}`,
      fix: 'build the ClusterSpiffeId and the IstioSpireProfile from the same SpireServer',
    }],
  ];
  const namespace = resolveNamespace(scope, pod, options);
  if (!(namespace instanceof MeshNamespace)) return [...checks, namespace];
  const namespaceLabels = labelsWithKeys(namespace, [ISTIO_INJECTION_LABEL, ISTIO_REVISION_LABEL, ISTIO_DATAPLANE_MODE_LABEL]);
  return [
    ...checks,
    ['namespace', checkInjection(namespace, namespaceLabels, options.profile.revision)],
    ['namespace', checkNotAmbient(namespace, namespaceLabels)],
    ['identity', checkSelection(scope, pod, namespace, options.identity)],
  ];
}

/** The ClusterSPIFFEIDs of the app that select a pod in this namespace. */
export function identitiesSelecting(scope: IConstruct, pod: PodView, namespace: MeshNamespace): ClusterSpiffeId[] {
  const identities = ClusterSpiffeId.allIn(scope);
  const namespaceLabels = labelsWithKeys(namespace, identities.flatMap((identity) => selectorKeys(identity.namespaceSelector)));
  return identities.filter((candidate) => candidate.selects(pod.labels, namespaceLabels));
}

/** The SPIFFE IDs the app's ClusterSPIFFEIDs issue to a pod in this namespace, each with the name of one that issues it. */
export function issuedSpiffeIds(scope: IConstruct, pod: PodView, namespace: MeshNamespace): Map<string, string> {
  return new Map(identitiesSelecting(scope, pod, namespace).map((identity) => [identity.spiffeIdFor(namespace.name, pod.serviceAccountName), identity.name]));
}

/** The MeshNamespace the pods run in, or the check that says why it is not known. */
function resolveNamespace(scope: IConstruct, pod: PodView, options: SpireIdentityOptions): MeshNamespace | Check {
  if (pod.namespace === undefined) {
    return ['workload namespace', {
      value: '(none)',
      rule: 'the workload names no namespace, so its pods land wherever it is applied and no injection label can be checked',
      fix: `set metadata.namespace${options.namespace ? ` to "${options.namespace.name}"` : ''}, or the chart's namespace`,
    }];
  }
  if (options.namespace) {
    return pod.namespace === options.namespace.name ? options.namespace : ['workload namespace', {
      value: pod.namespace,
      rule: `the workload must run in the namespace "${options.namespace.name}" it was given`,
      fix: `set metadata.namespace to "${options.namespace.name}"`,
    }];
  }
  return MeshNamespace.lookup(scope, pod.namespace) ?? ['namespace', {
    value: pod.namespace,
    rule: 'the app does not know this namespace, so its injection label cannot be checked',
    fix: `create it with MeshNamespace.create, adopt your Namespace with MeshNamespace.fromNamespace, or, when it exists already, declare it with MeshNamespace.fromName(scope, id, "${pod.namespace}", { istioInjection: true })`,
  }];
}

function labelsWithKeys(namespace: MeshNamespace, keys: string[]): { [key: string]: string } {
  return Object.fromEntries(keys.flatMap((key) => {
    const value = namespace.label(key);
    return value === undefined ? [] : [[key, value]];
  }));
}

function checkInjection(namespace: MeshNamespace, labels: { [key: string]: string }, revision: string | undefined): Problem | undefined {
  const described = `${namespace.name} (${namespace.origin})`;
  if (revision === undefined) {
    if (injectionEnabled(labels)) return undefined;
    return {
      value: described,
      rule: 'Istio injects no sidecar in this namespace, so the pod never gets istio-proxy or its SPIRE identity',
      fix: `label the namespace ${ISTIO_INJECTION_LABEL}=enabled (MeshNamespace.create does)`,
    };
  }
  if (labels[ISTIO_INJECTION_LABEL] === undefined && labels[ISTIO_REVISION_LABEL] === revision) return undefined;
  return {
    value: described,
    rule: `the SPIRE templates live in the injector of revision "${revision}", which serves only namespaces labelled ${ISTIO_REVISION_LABEL}=${revision} without ${ISTIO_INJECTION_LABEL}`,
    fix: `label the namespace ${ISTIO_REVISION_LABEL}=${revision} (MeshNamespace.create with revision "${revision}" does)`,
  };
}

function checkNotAmbient(namespace: MeshNamespace, labels: { [key: string]: string }): Problem | undefined {
  if (labels[ISTIO_DATAPLANE_MODE_LABEL] !== 'ambient') return undefined;
  return {
    value: `${namespace.name} (${namespace.origin})`,
    rule: `the namespace is in Istio ambient mode (${ISTIO_DATAPLANE_MODE_LABEL}=ambient), and ztunnel does not take identities from SPIRE`,
    fix: 'run SPIRE-enabled workloads in a sidecar-injected namespace',
  };
}

/** Pods running as their namespace's `default` service account share one ID, so a workload needs its own, unless it opts in. */
function checkOwnServiceAccount(pod: PodView, options: SpireIdentityOptions): Problem | undefined {
  if (pod.serviceAccountName !== DEFAULT_SERVICE_ACCOUNT || options.allowDefaultServiceAccount === true) return undefined;
  const namespace = pod.namespace ?? options.namespace?.name ?? '<namespace>';
  return {
    value: DEFAULT_SERVICE_ACCOUNT,
    rule: `the pods run as the default service account of namespace ${namespace}, so they share the ID ${options.identity.spiffeIdFor(namespace, DEFAULT_SERVICE_ACCOUNT)} with every other pod there that runs as it, and no authorization policy can tell them apart`,
    fix: 'give the workload a ServiceAccount of its own (serviceAccountName in its pod spec), or set allowDefaultServiceAccount: true to accept the shared ID',
  };
}

function checkTemplates(annotation: string | undefined, required: string[]): Problem | undefined {
  const templates = (annotation ?? '').split(',').map((template) => template.trim());
  if (required.every((template) => templates.includes(template))) return undefined;
  return {
    value: annotation ?? '(none)',
    rule: `the pod must ask for the injection templates ${required.join(',')}`,
    fix: `annotate the pod template ${INJECT_TEMPLATES_ANNOTATION}: "${required.join(',')}"`,
  };
}

function checkSelection(scope: IConstruct, pod: PodView, namespace: MeshNamespace, identity: ClusterSpiffeId): Problem | undefined {
  const selecting = identitiesSelecting(scope, pod, namespace);
  const workload = `${namespace.name}/${ApiObject.of(scope).name}`;
  if (!selecting.includes(identity)) {
    return {
      value: workload,
      rule: selecting.length === 0
        ? 'no ClusterSPIFFEID selects this pod, so it never gets an identity'
        : `ClusterSPIFFEID "${identity.name}" does not select this pod`,
      fix: `give the pod the labels ${JSON.stringify(identity.podLabels)} and check the identity's namespaceSelector`,
    };
  }
  const ids = issuedSpiffeIds(scope, pod, namespace);
  if (ids.size > 1) {
    return {
      value: workload,
      rule: `ClusterSPIFFEIDs give it different IDs: ${[...ids].map(([id, name]) => `${name} → ${id}`).join('; ')}`,
      fix: 'narrow the podSelectors so one ClusterSPIFFEID selects each pod',
    };
  }
  return undefined;
}
