import { LabelSelectorSpec } from '../kube/label-selector';
import { describe, KubeObject, ManifestObject } from './manifests';
import { MeshModel, PodTemplate } from './model';
import { SPIRE_SDS_DEFAULTS } from '../spire/sds';
import { federatedTrustDomains, identitiesSelecting, spiffeIdsOf, spireEnabledPods, templatesOf } from './rules';

/** One SPIRE-enabled workload's identity as the controller manager will register it. */
export interface WorkloadIdentity {
  readonly pod: PodTemplate;
  readonly workload: string;
  readonly serviceAccount: string;
  readonly templates: string[];
  readonly identities: string[];
  readonly spiffeIds: string[];
}

/** A federation relationship: what it is, whom it is about, its value, and where it is stated. */
export interface FederationLink {
  readonly what: string;
  readonly subject: string;
  readonly values: string[];
  readonly source: ManifestObject;
}

export function workloadIdentities(model: MeshModel): WorkloadIdentity[] {
  return spireEnabledPods(model).map((pod) => ({
    pod,
    workload: describe(pod.source.doc),
    serviceAccount: pod.spec.serviceAccountName ?? 'default',
    templates: templatesOf(pod),
    identities: identitiesSelecting(model, pod).map(({ value }) => value.metadata?.name ?? ''),
    spiffeIds: spiffeIdsOf(model, pod),
  }));
}

/** A label selector's terms: `key=value` labels, then expressions. */
export function selectorTerms(selector: LabelSelectorSpec | undefined): string[] {
  const labels = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  const expressions = (selector?.matchExpressions ?? []).map((requirement) =>
    [requirement.key, requirement.operator, requirement.values?.length ? `(${requirement.values.join(', ')})` : ''].filter(Boolean).join(' '));
  return [...labels, ...expressions];
}

/**
 * Federation, when the input has any: the bundle endpoint the server serves,
 * the partners it fetches from, the trust domains registrations federate with,
 * and what agent and Istio do with the partners' bundles.
 */
export function federationLinks(model: MeshModel): FederationLink[] {
  const endpoints = model.servers.filter((server) => server.value.server?.federation?.bundle_endpoint);
  if (endpoints.length === 0 && model.clusterFederatedTrustDomains.length === 0 && federatedTrustDomains(model).length === 0) return [];
  return [
    ...endpoints.map((server) => {
      const endpoint = server.value.server.federation.bundle_endpoint;
      const profiles = Object.keys(endpoint.profile ?? {});
      return { what: 'bundle endpoint', subject: describe(server.source.doc), values: [`${endpoint.address}:${endpoint.port}, ${profiles.join(', ') || 'none'}`], source: server.source };
    }),
    ...model.clusterFederatedTrustDomains.flatMap(({ value, source }) => {
      const profile = value.spec?.bundleEndpointProfile ?? {};
      const id = profile.endpointSPIFFEID ? ` as ${profile.endpointSPIFFEID}` : '';
      const trustDomain = String(value.spec?.trustDomain);
      return [
        { what: 'partner', subject: trustDomain, values: [`${value.spec?.bundleEndpointURL}, ${profile.type}${id}`], source },
        { what: 'bundle before the first fetch', subject: trustDomain, values: [initialBundleText(model, value)], source },
      ];
    }),
    ...[...model.clusterSpiffeIds, ...model.clusterStaticEntries].filter(({ value }) => (value.spec?.federatesWith ?? []).length > 0)
      .map(({ value, source }) => ({ what: 'federates with', subject: describe(value), values: value.spec.federatesWith.map(String), source })),
    ...model.agents.map((agent) => ({
      what: 'SDS name of all bundles', subject: describe(agent.source.doc), values: [String(agent.value.agent?.sds?.default_all_bundles_name ?? SPIRE_SDS_DEFAULTS.allBundlesName)], source: agent.source,
    })),
    ...model.istioSources.map((istio) => ({
      what: 'accepted trust domains', subject: describe(istio.source.doc), values: istio.acceptedTrustDomains, source: istio.source,
    })),
  ];
}

/** Whether the declaration carries the partner's bundle, or which file must wait until it is set by hand. */
function initialBundleText(model: MeshModel, domain: KubeObject): string {
  if (domain.spec?.trustDomainBundle) return 'in trustDomainBundle';
  const federating = [...model.clusterSpiffeIds, ...model.clusterStaticEntries]
    .filter(({ value }) => (value.spec?.federatesWith ?? []).includes(domain.spec?.trustDomain));
  const files = [...new Set(federating.map(({ source }) => source.file))];
  return `set by hand (spire-server bundle set)${files.length === 0 ? '' : ` before ${files.join(', ')}`}`;
}
