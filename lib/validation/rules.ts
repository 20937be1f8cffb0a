/**
 * Pure checks for values that break a SPIRE + Istio deployment silently when
 * they are wrong. Each returns `undefined` when the value is fine, or a
 * problem that names the value, the rule and the fix.
 */
export interface Problem {
  /** What was given, quoted in the message. */
  readonly value: string;
  /** The rule the value breaks. */
  readonly rule: string;
  /** How to fix it. */
  readonly fix: string;
}

/** Renders a problem as the one-line message users see at synth time. */
export function formatProblem(what: string, problem: Problem): string {
  return `${what} ${JSON.stringify(problem.value)}: ${problem.rule}. Fix: ${problem.fix}.`;
}

// SPIFFE ID spec §2.1: the trust domain name is at most 255 characters of [a-z0-9._-].
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const TRUST_DOMAIN_MAX = 255;

export function checkTrustDomain(value: string): Problem | undefined {
  const fix = 'use a bare lowercase name such as "example.org" (no scheme, port or path)';
  if (value.length === 0 || value.length > TRUST_DOMAIN_MAX) {
    return { value, rule: `a trust domain has 1 to ${TRUST_DOMAIN_MAX} characters`, fix };
  }
  if (!TRUST_DOMAIN.test(value)) {
    return { value, rule: 'a trust domain holds only lowercase letters, digits, ".", "-" and "_"', fix };
  }
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN_PART = DNS_LABEL;

/** RFC 1123 label, as Kubernetes requires for namespace, service and container names. */
export function checkDnsLabel(value: string): Problem | undefined {
  if (value.length <= 63 && DNS_LABEL.test(value)) return undefined;
  return {
    value,
    rule: 'a Kubernetes name of this kind is a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending alphanumeric',
    fix: 'rename it, e.g. "my-workload"',
  };
}

/** RFC 1123 subdomain, as Kubernetes requires for most object names. */
export function checkDnsSubdomain(value: string): Problem | undefined {
  if (value.length <= 253 && value.split('.').every((part) => DNS_SUBDOMAIN_PART.test(part))) return undefined;
  return {
    value,
    rule: 'a Kubernetes object name is a DNS-1123 subdomain: at most 253 characters of lowercase letters, digits, "-" and "."',
    fix: 'rename it, e.g. "spire-server"',
  };
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

export function checkLabelKey(value: string): Problem | undefined {
  return checkQualifiedName(value, 'a label key', 'spiffe.io/spire-managed-identity');
}

/** Annotation keys have the syntax of label keys. */
export function checkAnnotationKey(value: string): Problem | undefined {
  return checkQualifiedName(value, 'an annotation key', 'eks.amazonaws.com/role-arn');
}

function checkQualifiedName(value: string, what: string, example: string): Problem | undefined {
  const slash = value.lastIndexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  const prefixOk = prefix === undefined || (prefix.length > 0 && checkDnsSubdomain(prefix) === undefined);
  if (prefixOk && name.length > 0 && name.length <= 63 && LABEL_NAME.test(name)) return undefined;
  return {
    value,
    rule: `${what} is an optional DNS subdomain prefix and "/", then a name of at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric`,
    fix: `use a key such as "${example}"`,
  };
}

export function checkLabelValue(value: string): Problem | undefined {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return undefined;
  return {
    value,
    rule: 'a label value is empty or at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric',
    fix: 'use a value such as "true"',
  };
}

/** A trust domain other workloads federate with: valid, and not the workloads' own. */
export function checkFederatedTrustDomain(value: string, ownTrustDomain: string): Problem | undefined {
  if (value === ownTrustDomain) {
    return { value, rule: 'a workload does not federate with its own trust domain', fix: 'remove it from federatesWith' };
  }
  return checkTrustDomain(value);
}

/** A bundle endpoint URL as SPIRE accepts it: https, with a host. */
export function checkBundleEndpointUrl(value: string): Problem | undefined {
  const fix = 'write it like "https://spire-bundle.partner.example:8443"';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { value, rule: 'a bundle endpoint URL is an absolute URL', fix };
  }
  if (url.protocol !== 'https:' || url.hostname === '') return { value, rule: 'SPIRE fetches bundles over HTTPS only, from a host', fix };
  // The WHATWG parser drops an empty "@" that Go's url.Parse still reads as user info, so look at the authority itself.
  if (authorityOf(value).includes('@')) {
    return {
      value,
      rule: 'a bundle endpoint URL carries no user name or password: the spire-controller-manager webhook refuses it ("cannot contain userinfo"), so no ClusterFederatedTrustDomain naming it is admitted',
      fix: 'remove the "user:password@" part',
    };
  }
  return undefined;
}

function authorityOf(url: string): string {
  return url.slice(url.indexOf('//') + 2).split(/[/?#]/)[0];
}

/**
 * SPIRE accepts an https_spiffe endpoint ID of any trust domain whose bundle the
 * local server holds; this library keeps to the partner's own.
 */
export const ONLY_PARTNER_SERVER_ENDPOINTS = 'this library federates only with endpoints that present the partner server\'s own ID; '
  + 'an endpoint of a third trust domain also needs that domain\'s bundle in the local server, which nothing here declares';

// SPIFFE ID spec §2.2: path segments of [A-Za-z0-9._-], none empty, "." or "..".
const SPIFFE_ID = /^spiffe:\/\/([^/]*)((\/[A-Za-z0-9._-]+)+)$/;

/**
 * A SPIFFE ID with a path, in the given trust domain; `whyThatDomain` says why
 * an ID of another trust domain is refused.
 */
export function checkSpiffeId(value: string, trustDomain: string, whyThatDomain = 'the only one the server signs'): Problem | undefined {
  const match = SPIFFE_ID.exec(value);
  if (!match || match[2].split('/').some((segment) => segment === '.' || segment === '..')) {
    return {
      value,
      rule: 'a SPIFFE ID is spiffe://<trust domain>/<path>, whose path segments hold letters, digits, ".", "-" and "_" (not "." or ".." alone)',
      fix: `write it like "spiffe://${trustDomain}/ns/billing/sa/api"`,
    };
  }
  if (match[1] !== trustDomain) {
    return { value, rule: `the ID is not in the trust domain ${trustDomain}, ${whyThatDomain}`, fix: `start it with "spiffe://${trustDomain}/"` };
  }
  return undefined;
}

/** A SPIRE selector, `type:value` as in `k8s:ns:billing`. */
export function checkSelector(value: string): Problem | undefined {
  if (/^[^:]+:.+$/.test(value)) return undefined;
  return { value, rule: 'a selector is "type:value", both parts non-empty', fix: 'write it like "k8s:ns:billing" or "unix:uid:1000"' };
}

// Go's time.ParseDuration: a sequence of decimal numbers, each with a unit.
const GO_DURATION = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$/;

export function checkGoDuration(value: string): Problem | undefined {
  if (GO_DURATION.test(value) && /[1-9]/.test(value)) return undefined;
  return {
    value,
    rule: 'a TTL is a positive Go duration: numbers with units ns, us, ms, s, m or h (days are not a unit)',
    fix: 'write it like "1h", "90m" or "24h"',
  };
}

const GO_DURATION_UNIT_SECONDS: { [unit: string]: number } = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** The seconds a Go duration stands for; undefined when it is not one `checkGoDuration` accepts. */
export function goDurationSeconds(value: string): number | undefined {
  if (checkGoDuration(value) !== undefined) return undefined;
  return [...value.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)]
    .reduce((sum, [, amount, unit]) => sum + Number(amount) * GO_DURATION_UNIT_SECONDS[unit], 0);
}

/** Seconds as a Go duration in whole hours, minutes and seconds, e.g. `47h50m`. */
export function formatGoDuration(seconds: number): string {
  const whole = Math.floor(seconds);
  const parts = [[Math.floor(whole / 3600), 'h'], [Math.floor((whole % 3600) / 60), 'm'], [whole % 60, 's']] as const;
  return parts.filter(([amount]) => amount > 0).map(([amount, unit]) => `${amount}${unit}`).join('') || '0s';
}

export function checkPort(value: number): Problem | undefined {
  if (Number.isInteger(value) && value >= 1 && value <= 65535) return undefined;
  return { value: String(value), rule: 'a port is a whole number from 1 to 65535', fix: 'pick a free port in that range' };
}

const BINARY_SUFFIXES = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DECIMAL_SUFFIXES = ['m', '', 'k', 'M', 'G', 'T', 'P', 'E'];
const QUANTITY = new RegExp(`^([0-9]+)(\\.[0-9]+)?(${[...BINARY_SUFFIXES, ...DECIMAL_SUFFIXES.filter(Boolean)].join('|')})?$`);

/**
 * A positive Kubernetes quantity in the form the API server stores it, so
 * that a second apply finds no change: a whole number with the largest
 * suffix that keeps it whole (`1Gi`, not `1024Mi`; `500m`, not `0.5`).
 */
export function checkCanonicalQuantity(value: string): Problem | undefined {
  const match = QUANTITY.exec(value);
  if (!match) return { value, rule: 'a quantity is a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)', fix: 'write it like "100m", "1" or "256Mi"' };
  const [, whole, fraction, suffix = ''] = match;
  const number = Number(whole);
  const binary = BINARY_SUFFIXES.includes(suffix);
  const suffixes = binary ? BINARY_SUFFIXES : DECIMAL_SUFFIXES;
  const base = binary ? 1024 : 1000;
  const rewritten = 'the API server stores it in another form, so every apply would show a change';
  if (fraction !== undefined || number === 0) {
    return { value, rule: `a quantity is a positive whole number; ${rewritten}`, fix: 'use a smaller suffix, e.g. "500m" for 0.5 or "512Mi" for 0.5Gi' };
  }
  const larger = suffixes[suffixes.indexOf(suffix) + 1];
  if (larger !== undefined && number % base === 0) {
    return { value, rule: `${value} is ${number / base}${larger}; ${rewritten}`, fix: `write "${number / base}${larger}"` };
  }
  return undefined;
}

/** An image must name a fixed version: a tag other than `latest`, or a digest. */
export function checkPinnedImage(value: string): Problem | undefined {
  const fix = 'pin a release tag or digest, e.g. "ghcr.io/spiffe/spire-server:1.15.0" or "...@sha256:<digest>"';
  if (/@sha256:[a-f0-9]{64}$/.test(value)) return undefined;
  const lastSegment = value.slice(value.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) return { value, rule: 'an image without a tag pulls whatever "latest" is on the day', fix };
  const tag = lastSegment.slice(colon + 1);
  if (tag === 'latest' || tag.length === 0) return { value, rule: 'the "latest" tag is not a version', fix };
  return undefined;
}

const IMAGE_REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** A registry host, with an optional port and path, that images are pulled from. */
export function checkImageRegistry(value: string): Problem | undefined {
  if (IMAGE_REGISTRY.test(value)) return undefined;
  return { value, rule: 'a registry is a host with an optional port and path, lowercase, without scheme or trailing "/"', fix: 'write it like "registry.example.com/mirror" or "localhost:5000"' };
}

/** One path segment, which is also what a Secret key may be. */
const FILE_NAME = /^[-._a-zA-Z0-9]+$/;

export function isFileName(value: string): boolean {
  return FILE_NAME.test(value) && value !== '.' && value !== '..';
}

/** A Secret key, which is also the file name it is mounted as. */
export function checkSecretKey(value: string): Problem | undefined {
  if (isFileName(value)) return undefined;
  return { value, rule: 'a Secret key (and the file it is mounted as) holds only letters, digits, "-", "_" and "."', fix: 'use the key as the Secret names it, e.g. "tls.crt"' };
}

/** The checks of a Secret key reference, each named `<what>.name` and `<what>.key`. */
export function secretKeyChecks(what: string, ref: { readonly name: string; readonly key: string }): Array<[string, Problem | undefined]> {
  return [[`${what}.name`, checkDnsSubdomain(ref.name)], [`${what}.key`, checkSecretKey(ref.key)]];
}

/** An absolute, normalized Unix path. */
export function checkAbsolutePath(value: string): Problem | undefined {
  const normalized = value.length > 1 && !value.endsWith('/') && !value.includes('//') && !/(^|\/)\.\.?(\/|$)/.test(value);
  if (value.startsWith('/') && normalized) return undefined;
  return { value, rule: 'the path must be absolute and normalized (no trailing "/", "." or "..")', fix: 'write it like "/run/spire/sockets"' };
}

/** A normalized relative path of a file under an output directory. */
export function checkRelativeFile(value: string): Problem | undefined {
  if (value.length > 0 && !value.startsWith('/') && !value.endsWith('/') && !value.includes('//') && !/(^|\/)\.\.?(\/|$)/.test(value)) return undefined;
  return { value, rule: 'the file must be a relative path below the output directory (no leading "/", no "." or "..")', fix: 'write it like "helm/istiod-values.yaml"' };
}

/**
 * A regular expression as Go's regexp (RE2) compiles it. JavaScript's syntax is
 * close enough for a compile check once Go's flag and named groups are rewritten;
 * what RE2 lacks (lookarounds, backreferences) is rejected here.
 */
export function checkGoRegexp(value: string, compiler = 'the SPIRE Controller Manager', example = '^team-.*-dev$'): Problem | undefined {
  const fix = `write an RE2 expression such as "${example}" (no lookarounds or backreferences)`;
  const unsupported = re2Unsupported(value);
  if (unsupported) return { value, rule: `RE2, which ${compiler} compiles it with, has no ${unsupported}`, fix };
  try {
    new RegExp(asJavaScriptSyntax(value));
    return undefined;
  } catch (error) {
    return { value, rule: `it does not compile as a regular expression (${(error as Error).message})`, fix };
  }
}

// Go's flag groups `(?i)` and `(?i:...)` and named groups `(?P<name>...)`; older JavaScript knows none of them.
function asJavaScriptSyntax(pattern: string): string {
  return pattern
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<');
}

function re2Unsupported(pattern: string): string | undefined {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      if (/[1-9k]/.test(pattern[i + 1] ?? '')) return 'backreferences';
      i++;
    } else if (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i) || pattern.startsWith('(?<=', i) || pattern.startsWith('(?<!', i)) {
      return 'lookarounds';
    }
  }
  return undefined;
}

/** An http(s) URL with a host, as Go's URL parsing of a plugin's endpoint needs it; `what` names it in the rule. */
export function checkHttpUrl(value: string, what: string, example: string): Problem | undefined {
  try {
    const url = new URL(value);
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '') return undefined;
  } catch {
    // Not a URL at all: reported below.
  }
  return { value, rule: `${what} is an http(s) URL`, fix: `write it like "${example}"` };
}

/** A host an Istio Gateway or VirtualService matches: "*", or a DNS name with an optional leading "*.". */
export function checkRouteHost(value: string): Problem | undefined {
  const name = value.startsWith('*.') ? value.slice(2) : value;
  if (value === '*' || (name.length > 0 && checkDnsSubdomain(name) === undefined)) return undefined;
  return {
    value,
    rule: 'a route host is "*" or a lowercase DNS name, optionally starting with "*." for its subdomains',
    fix: 'write it like "httpbin.example.org" or "*.example.org"',
  };
}

/** A port a route sends to must be one the Service exposes. */
export function checkExposedPort(value: number, exposed: number[]): Problem | undefined {
  if (exposed.includes(value)) return undefined;
  return {
    value: String(value),
    rule: `the Service exposes only port${exposed.length === 1 ? '' : 's'} ${exposed.join(', ') || '(none)'}, so requests to this port reach nothing`,
    fix: `route to ${exposed.length === 1 ? `port ${exposed[0]}` : 'one of those ports'}, or expose the port on the Service`,
  };
}

/** A label selector must match the labels of the pods it is meant to pick. */
export function checkSelectorMatches(selector: { [key: string]: string }, labels: { [key: string]: string }): Problem | undefined {
  if (Object.entries(selector).every(([key, value]) => labels[key] === value)) return undefined;
  return {
    value: Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(','),
    rule: `the selector matches no gateway pod, whose labels are ${Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(',')}`,
    fix: 'keep the gateway pods\' labels as the gateway construct sets them',
  };
}

export function checkGracePeriod(value: number): Problem | undefined {
  if (Number.isInteger(value) && value >= 0) return undefined;
  return { value: String(value), rule: 'a termination grace period is a whole number of seconds, 0 or more', fix: 'set it to 0 for a process that ignores SIGTERM, else to the seconds it needs to stop' };
}

export function checkReplicaCount(value: number): Problem | undefined {
  if (Number.isInteger(value) && value >= 1) return undefined;
  return { value: String(value), rule: 'replicas is a whole number of at least 1', fix: 'set replicas to 1 or more' };
}

/** The host name (without port) of a URL, or "" when the value is not one. */
export function urlHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
