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

/** The settings a user gives an IstioSpireProfile. */
export interface UserSettings {
  readonly meshConfig?: Settings;
  readonly values?: Settings;
  readonly components?: Settings;
}

/**
 * The user's meshConfig from both places it can be given: the `meshConfig`
 * prop and `values.meshConfig`, where istiod's Helm chart reads it.
 */
export function userMeshConfig(user: UserSettings): Settings | undefined {
  const fromValues = valueAt(user.values, 'meshConfig') as Settings | undefined;
  return fromValues === undefined ? user.meshConfig : mergeSettings(fromValues, user.meshConfig);
}

/** The user's values without `meshConfig`, which joins the profile's meshConfig instead of replacing it. */
export function userValuesBesidesMeshConfig(user: UserSettings): Settings | undefined {
  if (!isPlainObject(user.values) || !('meshConfig' in user.values)) return user.values;
  const { meshConfig: _, ...rest } = user.values;
  return rest;
}

/** The value of an environment variable in a Kubernetes `env` list. */
export function envListValue(env: unknown, name: string): unknown {
  return Array.isArray(env) ? env.find((variable) => variable?.name === name)?.value : undefined;
}

/** A setting as a message quotes it: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Dotted paths of the leaves two settings objects both set, to different values. */
function differingLeaves(a: Settings | undefined, b: Settings | undefined, at = ''): string[] {
  return Object.keys(a ?? {}).filter((key) => key in (b ?? {})).flatMap((key) => {
    const [left, right, path] = [a?.[key], b?.[key], at === '' ? key : `${at}.${key}`];
    if (isPlainObject(left) && isPlainObject(right)) return differingLeaves(left, right, path);
    return JSON.stringify(left) === JSON.stringify(right) ? [] : [path];
  });
}

/** A conflict when a user's value is set and is not what SPIRE needs. */
function contradiction(prop: string, value: unknown, expected: string, fix: string): SettingsConflict[] {
  if (value === undefined || String(value) === expected) return [];
  return [{ prop, problem: { value: String(value), rule: `SPIRE needs ${JSON.stringify(expected)} here`, fix } }];
}

/** The two places a user's meshConfig can be given, by prop name. */
function meshConfigsOf(user: UserSettings): Array<[string, Settings | undefined]> {
  return [['meshConfig', user.meshConfig], ['values.meshConfig', valueAt(user.values, 'meshConfig') as Settings | undefined]];
}

/** Trust domain and socket file in either meshConfig, and keys the two set differently. */
function meshConfigConflicts(required: SpireRequirements, user: UserSettings): SettingsConflict[] {
  const contradictions = meshConfigsOf(user).flatMap(([prop, meshConfig]) => [
    ...contradiction(`${prop}.trustDomain`, valueAt(meshConfig, 'trustDomain'), required.trustDomain,
      'leave it out: the profile takes the trust domain from the SPIRE server'),
    ...contradiction(`${prop}.defaultConfig.proxyMetadata.WORKLOAD_IDENTITY_SOCKET_FILE`, valueAt(meshConfig, 'defaultConfig.proxyMetadata.WORKLOAD_IDENTITY_SOCKET_FILE'), required.socketFileName,
      'leave it out: the profile takes the socket file from the SPIRE agent (socketFileName)'),
  ]);
  const fromValues = valueAt(user.values, 'meshConfig') as Settings | undefined;
  const twoWays = differingLeaves(fromValues, user.meshConfig).map((path) => ({
    prop: `values.meshConfig.${path}`,
    problem: { value: shown(valueAt(fromValues, path)), rule: `meshConfig.${path} sets it to ${JSON.stringify(valueAt(user.meshConfig, path))}`, fix: 'set it in one of the two places' },
  }));
  return [...contradictions, ...twoWays];
}

/** Every place where the user's meshConfig, values or components undo what SPIRE needs. */
export function settingsConflicts(required: SpireRequirements, user: UserSettings): SettingsConflict[] {
  const conflicts: SettingsConflict[] = [
    ...meshConfigConflicts(required, user),
    ...contradiction('values.pilot.env.ENABLE_NATIVE_SIDECARS', valueAt(user.values, 'pilot.env.ENABLE_NATIVE_SIDECARS'), String(required.nativeSidecars),
      'leave it out and set sidecarMode instead'),
    // Only the IstioOperator has components; the Helm values would install istiod in the other mode.
    ...contradiction('components.pilot.k8s.env', envListValue(valueAt(user.components, 'pilot.k8s.env'), 'ENABLE_NATIVE_SIDECARS'), String(required.nativeSidecars),
      'leave ENABLE_NATIVE_SIDECARS out and set sidecarMode instead'),
  ];
  for (const [prop, settings, path, fix] of [
    ...meshConfigsOf(user).map(([prop, meshConfig]) => [prop, meshConfig, 'trustDomainAliases', 'use the trustDomainAliases prop'] as const),
    ['values', user.values, 'revision', 'use the revision prop'],
    ['values', user.values, 'global.trustDomain', 'leave it out: the profile takes the trust domain from the SPIRE server'],
  ] as const) {
    const value = valueAt(settings, path);
    if (value !== undefined) conflicts.push({ prop: `${prop}.${path}`, problem: { value: JSON.stringify(value), rule: 'the profile sets this itself', fix } });
  }
  const caCertificates = valueAt(userMeshConfig(user), 'caCertificates');
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
