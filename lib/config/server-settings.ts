import { CaKeyType } from './key-manager';
import { LogFormat } from './log-format';
import { plugin } from './spire-config';
import { checkGoDuration, checkLabelKey, checkSpiffeId, checkTrustDomain, goDurationSeconds, Problem } from '../validation/rules';
import { Check } from '../validation/validate';

/** Per client IP limits of the server's agent API (`ratelimit`). */
export interface ServerRateLimitOptions {
  /** Limit node attestation to one attempt per second and client IP (`attestation`). @default true, SPIRE's */
  readonly attestation?: boolean;
  /** Limit X.509 and JWT signing to 500 requests per second and client IP, each (`signing`). @default true, SPIRE's */
  readonly signing?: boolean;
}

/**
 * A local OPA policy that replaces SPIRE's built-in authorization of its
 * APIs (`auth_opa_policy_engine.local`). Both texts become files of the
 * server's config volume, mounted read-only.
 */
export interface AuthorizationPolicyOptions {
  /**
   * The Rego policy, `package spire`, whose `result` SPIRE evaluates for every
   * API call. It must allow `GetBundle` of the Bundle API to local callers:
   * SPIRE's own readiness check calls it over the server socket.
   */
  readonly rego: string;
  /** JSON object the policy reads as `data` (`policy_data_path`). @default none: an empty object */
  readonly policyData?: string;
}

/**
 * Experimental server settings (SPIRE's `experimental` block); they may
 * change or go in any SPIRE release. `cacheReloadInterval` and
 * `eventsBasedCache` set how fast new and changed entries reach the agents
 * against how much the server reads from its datastore.
 */
export interface ServerExperimentalOptions {
  /**
   * Time between two reloads of the server's entry cache
   * (`cache_reload_interval`, Go duration, below 24h): a new or changed entry
   * reaches agents up to this late; a longer interval reads the datastore less often.
   * SPIRE's 5s is kept: 1s saved a lone new pod 1.6 s and tripled the server's idle CPU
   * (docs/performance.md, "Identity at scale on the node").
   * @default SPIRE's, 5s
   */
  readonly cacheReloadInterval?: string;
  /**
   * Update the entry cache from the datastore's change events instead of
   * reloading every entry each `cacheReloadInterval` (`events_based_cache`):
   * far less database load with many entries, at the cost of a less tried path.
   * With `cacheReloadInterval: '1s'` it gave a new pod its SVID as fast as a full reload every
   * second at the default's idle cost (docs/performance.md); off, as SPIRE has it, while SPIRE
   * calls it experimental.
   * @default false, SPIRE's
   */
  readonly eventsBasedCache?: boolean;
  /**
   * Age after which change events are deleted from the datastore
   * (`prune_events_older_than`, Go duration, longer than the cache reload
   * interval); shorter keeps the table small but lets a server that lost its
   * database for longer miss changes.
   * @default SPIRE's, 12h
   */
  readonly pruneEventsOlderThan?: string;
  /** Accept only TLS key exchanges with a post-quantum KEM (`require_pq_kem`). @default false */
  readonly requirePqKem?: boolean;
  /** SPIRE feature flags to turn on (`feature_flags`); SPIRE refuses names it does not know. @default none */
  readonly featureFlags?: string[];
  /** Add each agent's SPIFFE ID to its node selectors (`agent_spiffe_id_as_selector`). @default false */
  readonly agentSpiffeIdAsSelector?: boolean;
  /** A local OPA policy for the server's APIs (`auth_opa_policy_engine`). @default SPIRE's built-in authorization */
  readonly authorizationPolicy?: AuthorizationPolicyOptions;
}

/** Settings of server.conf besides the CA, the datastore and the plugins that other options choose. */
export interface ServerSettingsOptions {
  /** Format of the server's log lines (`log_format`). @default SPIRE's own, LogFormat.TEXT */
  readonly logFormat?: LogFormat;
  /** Log every API call with caller, request and outcome (`audit_log_enabled`). @default false */
  readonly auditLog?: boolean;
  /**
   * SPIFFE IDs whose X509-SVIDs grant admin rights on the server API
   * (`admin_ids`), of the server's trust domain or a federated one; they need
   * no admin registration entry.
   * @default none
   */
  readonly adminIds?: string[];
  /**
   * Turn JWT-SVIDs off (`disable_jwt_svids`): the server creates no JWT keys
   * and refuses JWT calls. Refused with JWT settings, a
   * SpireOidcDiscoveryProvider of the server and registrations with a JWT TTL.
   * @default false
   */
  readonly disableJwtSvids?: boolean;
  /** Key type of the JWT signing keys (`jwt_key_type`). @default caKeyType, else SPIRE's CaKeyType.EC_P256 */
  readonly jwtKeyType?: CaKeyType;
  /** Lifetime of agents' X509-SVIDs (`agent_ttl`, Go duration). @default x509SvidTtl, SPIRE's */
  readonly agentSvidTtl?: string;
  /** Per client IP rate limits (`ratelimit`). @default both on, SPIRE's */
  readonly rateLimit?: ServerRateLimitOptions;
  /**
   * Delete attested nodes whose agent SVID expired longer ago than this
   * (`prune_attested_nodes_expired_for`, Go duration): replaced nodes leave
   * one record each behind otherwise.
   * @default none: never pruned
   */
  readonly pruneAttestedNodesExpiredFor?: string;
  /** Prune nodes of attestors that cannot re-attest, too (`prune_tofu_nodes`); needs `pruneAttestedNodesExpiredFor`. @default false */
  readonly pruneTofuNodes?: boolean;
  /**
   * How long the server trusts its cached attested node data before it reads
   * the datastore again (`max_attested_node_info_staleness`, Go duration).
   * @default SPIRE's, 0s: read for every call
   */
  readonly maxAttestedNodeInfoStaleness?: string;
  /** Node label keys the `k8s_psat` attestor adds as `k8s_psat:agent_node_label` selectors (`allowed_node_label_keys`). @default none */
  readonly psatAllowedNodeLabelKeys?: string[];
  /** Agent pod label keys the `k8s_psat` attestor adds as `k8s_psat:agent_pod_label` selectors (`allowed_pod_label_keys`). @default none */
  readonly psatAllowedPodLabelKeys?: string[];
  /** Add the `x509UniqueIdentifier` attribute to workload X509-SVIDs (SPIRE's built-in `uniqueid` CredentialComposer). @default false */
  readonly uniqueIdCredentialComposer?: boolean;
  /** Experimental settings (SPIRE's `experimental` block). @default none */
  readonly experimental?: ServerExperimentalOptions;
}

/** Where the authorization policy's files are mounted. */
export interface AuthorizationPolicyPaths {
  readonly rego: string;
  /** Undefined: the policy has no data. */
  readonly policyData?: string;
}

/** The settings as server.conf renders them. */
export interface ServerSettingsModel {
  readonly options: ServerSettingsOptions;
  /** Undefined: SPIRE's built-in authorization. */
  readonly authorizationPolicy?: AuthorizationPolicyPaths;
}

/** The keys of the `server` block the settings set; what is unset is not written. */
export function renderServerSettings(model: ServerSettingsModel | undefined): object {
  const options = model?.options ?? {};
  return {
    log_format: options.logFormat,
    audit_log_enabled: options.auditLog,
    admin_ids: nonEmpty(options.adminIds),
    disable_jwt_svids: options.disableJwtSvids,
    jwt_key_type: options.jwtKeyType,
    agent_ttl: options.agentSvidTtl,
    ...whenAny('ratelimit', { attestation: options.rateLimit?.attestation, signing: options.rateLimit?.signing }),
    prune_attested_nodes_expired_for: options.pruneAttestedNodesExpiredFor,
    prune_tofu_nodes: options.pruneTofuNodes,
    max_attested_node_info_staleness: options.maxAttestedNodeInfoStaleness,
    ...whenAny('experimental', renderExperimental(options.experimental, model?.authorizationPolicy)),
  };
}

function renderExperimental(experimental: ServerExperimentalOptions | undefined, policy: AuthorizationPolicyPaths | undefined): object {
  return {
    cache_reload_interval: experimental?.cacheReloadInterval,
    events_based_cache: experimental?.eventsBasedCache,
    prune_events_older_than: experimental?.pruneEventsOlderThan,
    require_pq_kem: experimental?.requirePqKem,
    feature_flags: nonEmpty(experimental?.featureFlags),
    agent_spiffe_id_as_selector: experimental?.agentSpiffeIdAsSelector,
    auth_opa_policy_engine: policy === undefined ? undefined : { local: { rego_path: policy.rego, policy_data_path: policy.policyData } },
  };
}

/** The `k8s_psat` keys of a cluster the settings set. */
export function renderPsatLabelKeys(model: ServerSettingsModel | undefined): object {
  return {
    allowed_node_label_keys: nonEmpty(model?.options.psatAllowedNodeLabelKeys),
    allowed_pod_label_keys: nonEmpty(model?.options.psatAllowedPodLabelKeys),
  };
}

/** The plugins the settings add: the `uniqueid` CredentialComposer. */
export function renderSettingsPlugins(model: ServerSettingsModel | undefined): object {
  return model?.options.uniqueIdCredentialComposer ? { CredentialComposer: plugin('uniqueid', {}) } : {};
}

/** `{ [key]: block }` when the block sets anything, else nothing. */
function whenAny(key: string, block: object): object {
  return Object.values(block).some((value) => value !== undefined) ? { [key]: block } : {};
}

function nonEmpty(values: string[] | undefined): string[] | undefined {
  return values === undefined || values.length === 0 ? undefined : values;
}

/** The JWT settings that disabled JWT-SVIDs leave without effect. */
export interface JwtSettings {
  readonly jwtIssuer?: string;
  readonly jwtSvidTtl?: string;
  readonly jwtKeyType?: CaKeyType;
}

/** The checks of the settings, each named by its option. */
export function serverSettingsChecks(options: ServerSettingsOptions, trustDomain: string, jwt: JwtSettings): Check[] {
  const experimental = options.experimental ?? {};
  return [
    ...(options.adminIds ?? []).map((id): Check => ['adminIds', checkAdminId(id, trustDomain)]),
    ...Object.entries(jwt).map(([name, value]): Check => [name, options.disableJwtSvids && value !== undefined ? jwtSettingWithoutJwtSvids(String(value)) : undefined]),
    ...optionalDurations({ agentSvidTtl: options.agentSvidTtl, pruneAttestedNodesExpiredFor: options.pruneAttestedNodesExpiredFor, maxAttestedNodeInfoStaleness: options.maxAttestedNodeInfoStaleness }),
    ['pruneTofuNodes', options.pruneTofuNodes && options.pruneAttestedNodesExpiredFor === undefined ? {
      value: 'true',
      rule: 'SPIRE prunes nodes only with prune_attested_nodes_expired_for and ignores prune_tofu_nodes without it',
      fix: 'set pruneAttestedNodesExpiredFor too, e.g. "24h", or leave pruneTofuNodes out',
    } : undefined],
    ...(options.psatAllowedNodeLabelKeys ?? []).map((key): Check => ['psatAllowedNodeLabelKeys', checkLabelKey(key)]),
    ...(options.psatAllowedPodLabelKeys ?? []).map((key): Check => ['psatAllowedPodLabelKeys', checkLabelKey(key)]),
    ...optionalDurations({ 'experimental.cacheReloadInterval': experimental.cacheReloadInterval, 'experimental.pruneEventsOlderThan': experimental.pruneEventsOlderThan }),
    ['experimental.cacheReloadInterval', checkBelowFullReload(experimental.cacheReloadInterval)],
    ['experimental.pruneEventsOlderThan', checkEventsOutliveReload(experimental)],
    ...(experimental.featureFlags ?? []).map((flag): Check => ['experimental.featureFlags', flag.trim() === '' ? { value: flag, rule: 'a feature flag is a name', fix: 'write the flag\'s name, e.g. "wit-svid", or leave it out' } : undefined]),
    ...authorizationPolicyChecks(experimental.authorizationPolicy),
  ];
}

function optionalDurations(durations: { [option: string]: string | undefined }): Check[] {
  return Object.entries(durations).map(([option, value]): Check => [option, value === undefined ? undefined : checkGoDuration(value)]);
}

/** An admin ID of the server's trust domain or another (federated) one. */
function checkAdminId(value: string, trustDomain: string): Problem | undefined {
  const idTrustDomain = /^spiffe:\/\/([^/]*)\//.exec(value)?.[1];
  if (idTrustDomain === undefined) return checkSpiffeId(value, trustDomain);
  const domainProblem = checkTrustDomain(idTrustDomain);
  return checkSpiffeId(value, idTrustDomain) ?? (domainProblem && { ...domainProblem, value });
}

function jwtSettingWithoutJwtSvids(value: string): Problem {
  return {
    value,
    rule: 'disableJwtSvids turns JWT-SVIDs off, so SPIRE signs none this setting could shape',
    fix: 'leave the JWT setting out, or disableJwtSvids',
  };
}

const SECONDS_PER_FULL_CACHE_RELOAD = 24 * 3600;
const SPIRE_CACHE_RELOAD_SECONDS = 5;

/** SPIRE also reloads the whole cache every 24h and refuses to start unless that is the longer interval. */
function checkBelowFullReload(interval: string | undefined): Problem | undefined {
  const seconds = interval === undefined ? undefined : goDurationSeconds(interval);
  if (seconds === undefined || seconds < SECONDS_PER_FULL_CACHE_RELOAD) return undefined;
  return {
    value: interval!,
    rule: 'SPIRE refuses to start unless its full cache reload interval (24h) is longer than the cache reload interval',
    fix: 'keep it below 24h, e.g. "30s"',
  };
}

/** An event pruned before the cache read it never reaches the agents. */
function checkEventsOutliveReload(experimental: ServerExperimentalOptions): Problem | undefined {
  const prune = experimental.pruneEventsOlderThan;
  const pruneSeconds = prune === undefined ? undefined : goDurationSeconds(prune);
  const reload = experimental.cacheReloadInterval;
  const reloadSeconds = reload === undefined ? SPIRE_CACHE_RELOAD_SECONDS : goDurationSeconds(reload);
  if (pruneSeconds === undefined || reloadSeconds === undefined || pruneSeconds > reloadSeconds) return undefined;
  return {
    value: prune!,
    rule: `events are deleted before the cache, reloaded every ${reload ?? `${SPIRE_CACHE_RELOAD_SECONDS}s`}, reads them, so changes to entries can be missed`,
    fix: 'keep events much longer than the cache reload interval, e.g. "12h" (SPIRE\'s default)',
  };
}

function authorizationPolicyChecks(policy: AuthorizationPolicyOptions | undefined): Check[] {
  if (policy === undefined) return [];
  // JavaScript and Python callers may pass no text at all.
  const rego = typeof policy.rego === 'string' ? policy.rego : '';
  return [
    ['experimental.authorizationPolicy.rego', /^\s*package\s+spire\s*$/m.test(rego) ? undefined : {
      value: firstLine(rego),
      rule: 'SPIRE evaluates data.spire.result, so the policy is a Rego module of package spire',
      fix: 'start the policy with "package spire" and define result',
    }],
    ['experimental.authorizationPolicy.policyData', policy.policyData === undefined ? undefined : checkJsonObject(policy.policyData)],
  ];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function checkJsonObject(text: string): Problem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  return {
    value: firstLine(text),
    rule: 'SPIRE reads the policy data as a JSON object and refuses to start with anything else',
    fix: 'pass a JSON object, e.g. JSON.stringify({ apis: [] })',
  };
}
