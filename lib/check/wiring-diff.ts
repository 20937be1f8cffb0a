import { describe, ManifestObject } from './manifests';
import { buildModel, MeshModel } from './model';
import { identitiesSelecting } from './rules';
import { authorizations, ingressRoutes } from './wiring-access';
import { federationLinks, selectorTerms, workloadIdentities } from './wiring-identities';
import { configSettings, containerImages, settingSubject, sidecarModeName, sidecarModes } from './wiring-settings';
import { injectionTemplates, proxyPlacement, socketStages, templateSubject } from './wiring-sockets';

/** One piece of wiring: what it is, whom it is about, and its values (a set, in order). */
interface WiringFact {
  readonly topic: string;
  readonly subject: string;
  readonly values: string[];
}

/**
 * What changed in wiring terms between two sets of manifests, one line per
 * changed fact in a fixed order of topics, then a count; nothing when the
 * wiring is the same. File names and the order of objects do not count.
 */
export function wiringDiff(before: ManifestObject[], after: ManifestObject[]): string[] {
  const old = factsByKey(wiringFacts(before));
  const current = factsByKey(wiringFacts(after));
  const keys = [...new Set([...old.keys(), ...current.keys()])].sort(byTopicThenSubject);
  const lines = keys.flatMap((key) => changeLine(old.get(key), current.get(key)));
  return lines.length === 0 ? [] : [...lines, `${lines.length} wiring change(s)`];
}

const TOPICS = [
  'trust domain', 'cluster name', 'socket path', 'CSI driver', 'injection template', 'sidecar mode', 'injection templates asked for',
  'ClusterSPIFFEID template', 'ClusterSPIFFEID pods', 'ClusterSPIFFEID namespaces', 'ClusterSPIFFEID matches', 'SPIFFE ID', 'image',
  'route', 'authorization action', 'authorization guards', 'authorization principals',
  'federation bundle endpoint', 'federation partner', 'federation federates with', 'federation SDS name of all bundles', 'federation accepted trust domains',
];

function factsByKey(facts: WiringFact[]): Map<string, WiringFact> {
  return new Map(facts.filter((fact) => fact.values.length > 0).map((fact) => [JSON.stringify([fact.topic, fact.subject]), fact]));
}

function byTopicThenSubject(a: string, b: string): number {
  const [topicA, subjectA] = JSON.parse(a);
  const [topicB, subjectB] = JSON.parse(b);
  return TOPICS.indexOf(topicA) - TOPICS.indexOf(topicB) || (subjectA < subjectB ? -1 : subjectA > subjectB ? 1 : 0);
}

/** `+` for a fact only after, `-` only before, `~` for a changed one: `old -> new`, or the members that went and came. */
function changeLine(before: WiringFact | undefined, after: WiringFact | undefined): string[] {
  const fact = (after ?? before)!;
  const head = `${fact.topic}: ${fact.subject}:`;
  if (!before) return [`+ ${head} ${after!.values.join(', ')}`];
  if (!after) return [`- ${head} ${before.values.join(', ')}`];
  if (JSON.stringify(before.values) === JSON.stringify(after.values)) return [];
  if (before.values.length === 1 && after.values.length === 1) return [`~ ${head} ${before.values[0]} -> ${after.values[0]}`];
  const gone = before.values.filter((value) => !after.values.includes(value)).map((value) => `- ${value}`);
  const came = after.values.filter((value) => !before.values.includes(value)).map((value) => `+ ${value}`);
  return [`~ ${head} ${[...gone, ...came].join(', ')}`];
}

function wiringFacts(objects: ManifestObject[]): WiringFact[] {
  const model = buildModel(objects);
  return [...settingFacts(model), ...socketFacts(model), ...templateFacts(model), ...identityFacts(model), ...accessFacts(objects, model), ...federationFacts(model)];
}

const fact = (topic: string, subject: string, values: string[]): WiringFact => ({ topic, subject, values: [...new Set(values)].sort() });

function settingFacts(model: MeshModel): WiringFact[] {
  return configSettings(model).flatMap((setting) => [
    fact('trust domain', settingSubject(setting), [setting.trustDomain]),
    ...(setting.clusters ? [fact('cluster name', settingSubject(setting), setting.clusters.names)] : []),
  ]);
}

function socketFacts(model: MeshModel): WiringFact[] {
  return socketStages(model).flat().map((hop) => fact('socket path', hop.what, [hop.where.replace(/`/g, '')]));
}

function templateFacts(model: MeshModel): WiringFact[] {
  return [
    fact('CSI driver', 'CSIDriver objects', model.csiDriverNames),
    ...injectionTemplates(model).flatMap((template) => [
      fact('CSI driver', templateSubject(template), [template.driver]),
      fact('injection template', templateSubject(template), [`mounted at ${template.mountPath ?? 'none'}${template.readOnly ? ' read-only' : ''}, istio-proxy in ${proxyPlacement(template)}`]),
    ]),
    ...sidecarModes(model).map((mode) => fact('sidecar mode', mode.appliesTo,
      [`${sidecarModeName(mode)} (${mode.setting ? `${mode.setting.name} "${mode.setting.value}"` : 'Istio\'s default'})`])),
  ];
}

function identityFacts(model: MeshModel): WiringFact[] {
  return [
    ...model.clusterSpiffeIds.flatMap(({ value }) => {
      const name = String(value.metadata?.name);
      return [
        fact('ClusterSPIFFEID template', name, [String(value.spec?.spiffeIDTemplate)]),
        fact('ClusterSPIFFEID pods', name, [selectorTerms(value.spec?.podSelector).join(', ') || 'all']),
        fact('ClusterSPIFFEID namespaces', name, [selectorTerms(value.spec?.namespaceSelector).join(', ') || 'all']),
        fact('ClusterSPIFFEID matches', name, model.pods.filter((pod) => identitiesSelecting(model, pod).some((selecting) => selecting.value === value)).map((pod) => describe(pod.source.doc))),
      ];
    }),
    ...workloadIdentities(model).flatMap((entry) => [
      fact('SPIFFE ID', entry.workload, entry.spiffeIds),
      fact('injection templates asked for', entry.workload, entry.templates),
    ]),
    ...containerImages(model).map((image) => fact('image', `${image.workload}, container ${image.container}`, [image.reference])),
  ];
}

function accessFacts(objects: ManifestObject[], model: MeshModel): WiringFact[] {
  return [
    ...ingressRoutes(objects).map((route) => fact('route', `${route.route} via Gateway ${route.gatewayReference}`, [`${route.hosts.join(', ')} -> ${route.destinations.join(', ')}`])),
    ...authorizations(model).flatMap((policy) => [
      fact('authorization action', policy.policy, [policy.action]),
      fact('authorization guards', policy.policy, policy.guarded.map((pod) => describe(pod.source.doc))),
      fact('authorization principals', policy.policy, policy.principals.map(({ principal }) => principal)),
    ]),
  ];
}

function federationFacts(model: MeshModel): WiringFact[] {
  return federationLinks(model).map((link) => fact(`federation ${link.what}`, link.subject, link.values));
}
