import { Problem } from '../validation/rules';

/** A JSON object as users write Istio settings. */
export type Settings = { [key: string]: any };

const GATEWAY_LISTS = ['ingressGateways', 'egressGateways'];

function isPlainObject(value: unknown): value is Settings {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges the user's settings into SPIRE's: objects key by key, gateway lists
 * entry by entry on `name`, anything else replaced by the user's value.
 * Contradictions are reported by `settingsConflicts`, not resolved here.
 */
export function mergeSettings(ours: Settings, theirs: Settings | undefined): Settings {
  const merged: Settings = { ...ours };
  for (const [key, value] of Object.entries(theirs ?? {})) {
    const current = merged[key];
    if (isPlainObject(current) && isPlainObject(value)) merged[key] = mergeSettings(current, value);
    else if (GATEWAY_LISTS.includes(key) && Array.isArray(current) && Array.isArray(value)) merged[key] = mergeByName(current, value);
    else merged[key] = value;
  }
  return merged;
}

function mergeByName(ours: Settings[], theirs: Settings[]): Settings[] {
  const byName = new Map(ours.map((entry) => [entry.name, entry]));
  for (const entry of theirs) byName.set(entry.name, mergeSettings(byName.get(entry.name) ?? {}, entry));
  return [...byName.values()];
}

/** A value at a dotted path of a settings object. */
export function valueAt(settings: Settings | undefined, path: string): unknown {
  return path.split('.').reduce<any>((node, key) => (isPlainObject(node) ? node[key] : undefined), settings);
}

/** What SPIRE needs Istio to keep, and where a user's settings would say otherwise. */
export interface SpireRequirements {
  readonly trustDomain: string;
  readonly socketFileName: string;
  readonly nativeSidecars: boolean;
  readonly templateNames: string[];
  /** Trust domains the profile lists in meshConfig.caCertificates. */
  readonly federatedTrustDomains: string[];
}

/** One user setting that contradicts SPIRE's: which prop, at which path, and the problem. */
export interface SettingsConflict {
  readonly prop: string;
  readonly problem: Problem;
}

/** Every place where the user's meshConfig, values or components undo what SPIRE needs. */
export function settingsConflicts(required: SpireRequirements, user: { meshConfig?: Settings; values?: Settings; components?: Settings }): SettingsConflict[] {
  const conflicts: SettingsConflict[] = [];
  const contradicts = (prop: string, settings: Settings | undefined, path: string, expected: string, fix: string) => {
    const value = valueAt(settings, path);
    if (value === undefined || String(value) === expected) return;
    conflicts.push({ prop: `${prop}.${path}`, problem: { value: String(value), rule: `SPIRE needs ${JSON.stringify(expected)} here`, fix } });
  };
  contradicts('meshConfig', user.meshConfig, 'trustDomain', required.trustDomain,
    'leave it out: the profile takes the trust domain from the SPIRE server');
  contradicts('meshConfig', user.meshConfig, 'defaultConfig.proxyMetadata.WORKLOAD_IDENTITY_SOCKET_FILE', required.socketFileName,
    'leave it out: the profile takes the socket file from the SPIRE agent (socketFileName)');
  contradicts('values', user.values, 'pilot.env.ENABLE_NATIVE_SIDECARS', String(required.nativeSidecars),
    'leave it out and set sidecarMode instead');
  for (const [prop, settings, path, fix] of [
    ['meshConfig', user.meshConfig, 'trustDomainAliases', 'use the trustDomainAliases prop'],
    ['values', user.values, 'revision', 'use the revision prop'],
    ['values', user.values, 'global.trustDomain', 'leave it out: the profile takes the trust domain from the SPIRE server'],
  ] as const) {
    const value = valueAt(settings, path);
    if (value !== undefined) conflicts.push({ prop: `${prop}.${path}`, problem: { value: JSON.stringify(value), rule: 'the profile sets this itself', fix } });
  }
  const caCertificates = valueAt(user.meshConfig, 'caCertificates');
  if (caCertificates !== undefined && required.federatedTrustDomains.length > 0) {
    conflicts.push({
      prop: 'meshConfig.caCertificates',
      problem: {
        value: JSON.stringify(caCertificates),
        rule: `the profile lists the federated trust domains ${required.federatedTrustDomains.join(', ')} here, and a list of yours would replace them, so Istio would refuse their peers`,
        fix: 'leave it out: declare partners with ClusterFederatedTrustDomain',
      },
    });
  }
  const templates = valueAt(user.values, 'sidecarInjectorWebhook.templates');
  for (const name of required.templateNames.filter((template) => isPlainObject(templates) && template in templates)) {
    conflicts.push({
      prop: `values.sidecarInjectorWebhook.templates.${name}`,
      problem: { value: name, rule: 'this injection template mounts the SPIRE socket into istio-proxy; replacing it cuts workloads off from SPIRE', fix: 'give your template another name' },
    });
  }
  for (const list of GATEWAY_LISTS) {
    const enabled = ((valueAt(user.components, list) as Settings[] | undefined) ?? []).filter((gateway) => gateway.enabled === true);
    for (const gateway of enabled) {
      conflicts.push({
        prop: `components.${list}`,
        problem: {
          value: String(gateway.name),
          rule: 'a gateway istioctl installs gets no SPIRE template, so it serves istiod\'s certificates instead of a SPIRE identity',
          fix: 'deploy the gateway with the IstioIngressGateway construct instead',
        },
      });
    }
  }
  return conflicts;
}
