import { ApiObjectMetadataDefinition } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ClusterSpiffeId } from './constructs/cluster-spiffe-id';
import { IstioSpireProfile } from './constructs/istio-spire-profile';
import { INJECT_TEMPLATES_ANNOTATION, injectionEnabled, ISTIO_INJECTION_LABEL, ISTIO_REVISION_LABEL, SIDECAR_INJECT_LABEL } from './istio';
import { selectorKeys } from './label-selector';
import { Problem } from './validation/rules';
import { Check, validateAtSynth } from './validation/validate';


/** What makes a workload's pods take their identity from SPIRE through Istio. */
export interface SpireIdentityOptions {
  /** The Istio profile whose templates mount the SPIRE socket into istio-proxy. */
  readonly profile: IstioSpireProfile;
  /** The ClusterSPIFFEID that must select the pods; its selector labels are added to them. */
  readonly identity: ClusterSpiffeId;
  /** The namespace the workload runs in; Istio injection must be enabled there. */
  readonly namespace: kplus.Namespace;
}

/**
 * Labels a workload's pods for its ClusterSPIFFEID, asks for the injection
 * templates (e.g. "sidecar,spire") and registers the mesh checks.
 */
export function enableSpireIdentity(workload: kplus.Workload, options: SpireIdentityOptions, templates: string): void {
  for (const [key, value] of Object.entries(options.identity.podLabels)) {
    workload.podMetadata.addLabel(key, value);
  }
  workload.podMetadata.addAnnotation(INJECT_TEMPLATES_ANNOTATION, templates);
  validateMeshPod(workload, {
    workload,
    namespace: options.namespace,
    serviceAccountName: workload.serviceAccount?.name ?? 'default',
    identity: options.identity,
    requiredTemplates: templates.split(','),
    meshTrustDomain: options.profile.trustDomain,
  });
}

/** What the mesh checks read off a workload that should get a SPIRE identity through Istio. */
export interface MeshPod {
  readonly workload: kplus.Workload;
  readonly namespace: kplus.Namespace;
  readonly serviceAccountName: string;
  /** The ClusterSPIFFEID the workload was built to be selected by. */
  readonly identity: ClusterSpiffeId;
  /** Templates the annotation must name, e.g. ["sidecar", "spire"]. */
  readonly requiredTemplates: readonly string[];
  /** The profile's trust domain, which must be the identity's. */
  readonly meshTrustDomain: string;
}

/** Registers the synth-time checks that a pod will really get its SPIRE identity through Istio. */
function validateMeshPod(scope: Construct, pod: MeshPod): void {
  validateAtSynth(scope, () => meshPodChecks(scope, pod));
}

function meshPodChecks(scope: Construct, pod: MeshPod): Check[] {
  const podMetadata = pod.workload.podMetadata.toJson();
  const podLabels = podMetadata.labels ?? {};
  const annotations = podMetadata.annotations ?? {};
  // Only the keys that matter: the namespace is shared, rendering it for every pod would cost per pod.
  const namespaceLabels = labelsWithKeys(pod.namespace.metadata, [
    ISTIO_INJECTION_LABEL, ISTIO_REVISION_LABEL, ...ClusterSpiffeId.allIn(scope).flatMap((identity) => selectorKeys(identity.namespaceSelector)),
  ]);
  return [
    ['namespace', checkInjectionEnabled(pod.namespace.name, namespaceLabels)],
    ['pod label', podLabels[SIDECAR_INJECT_LABEL] === 'false' ? {
      value: `${SIDECAR_INJECT_LABEL}=false`,
      rule: 'the pod opts out of injection, so istio-proxy never mounts the SPIRE socket',
      fix: `remove the ${SIDECAR_INJECT_LABEL} label`,
    } : undefined],
    ['workload namespace', pod.workload.metadata.namespace === pod.namespace.name ? undefined : {
      value: String(pod.workload.metadata.namespace),
      rule: `the workload must run in the injection-enabled namespace "${pod.namespace.name}" it was given`,
      fix: `set metadata.namespace to "${pod.namespace.name}"`,
    }],
    [INJECT_TEMPLATES_ANNOTATION, checkTemplates(annotations[INJECT_TEMPLATES_ANNOTATION], pod.requiredTemplates)],
    ['identity trust domain', pod.identity.trustDomain === pod.meshTrustDomain ? undefined : {
      value: pod.identity.trustDomain,
      rule: `the ClusterSPIFFEID signs for ${pod.identity.trustDomain} but the mesh trusts ${pod.meshTrustDomain}`,
      fix: 'build the ClusterSpiffeId and the IstioSpireProfile from the same SpireServer',
    }],
    ['identity', checkSelection(scope, pod, podLabels, namespaceLabels)],
  ];
}

function labelsWithKeys(metadata: ApiObjectMetadataDefinition, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((key) => {
    const value = metadata.getLabel(key);
    return value === undefined ? [] : [[key, value]];
  }));
}

function checkInjectionEnabled(namespace: string, labels: Record<string, string>): Problem | undefined {
  if (injectionEnabled(labels)) return undefined;
  return {
    value: namespace,
    rule: 'Istio injects no sidecar in this namespace, so the pod never gets istio-proxy or its SPIRE identity',
    fix: `label the namespace ${ISTIO_INJECTION_LABEL}=enabled (see injectionEnabledNamespace)`,
  };
}

function checkTemplates(annotation: string | undefined, required: readonly string[]): Problem | undefined {
  const templates = (annotation ?? '').split(',').map((template) => template.trim());
  if (required.every((template) => templates.includes(template))) return undefined;
  return {
    value: annotation ?? '(none)',
    rule: `the pod must ask for the injection templates ${required.join(',')}`,
    fix: `annotate the pod template ${INJECT_TEMPLATES_ANNOTATION}: "${required.join(',')}"`,
  };
}

function checkSelection(scope: Construct, pod: MeshPod, podLabels: Record<string, string>, namespaceLabels: Record<string, string>): Problem | undefined {
  const selecting = ClusterSpiffeId.allIn(scope).filter((identity) => identity.selects(podLabels, namespaceLabels));
  const workload = `${pod.namespace.name}/${pod.workload.name}`;
  if (!selecting.includes(pod.identity)) {
    return {
      value: workload,
      rule: selecting.length === 0
        ? 'no ClusterSPIFFEID selects this pod, so it never gets an identity'
        : `ClusterSPIFFEID "${pod.identity.name}" does not select this pod`,
      fix: `give the pod the labels ${JSON.stringify(pod.identity.podLabels)} and check the identity's namespaceSelector`,
    };
  }
  const ids = new Map(selecting.map((identity) => [identity.spiffeIdFor(pod.namespace.name, pod.serviceAccountName), identity.name]));
  if (ids.size > 1) {
    return {
      value: workload,
      rule: `ClusterSPIFFEIDs give it different IDs: ${[...ids].map(([id, name]) => `${name} → ${id}`).join('; ')}`,
      fix: 'narrow the podSelectors so one ClusterSPIFFEID selects each pod',
    };
  }
  return undefined;
}

/** A namespace where Istio injects sidecars into new pods. */
export function injectionEnabledNamespace(scope: Construct, id: string, name: string): kplus.Namespace {
  return new kplus.Namespace(scope, id, { metadata: { name, labels: { [ISTIO_INJECTION_LABEL]: 'enabled' } } });
}
