/**
 * Fields cdk8s-plus renders that the API server drops or rewrites when it
 * stores an object: empty lists, zero and false defaults, the empty API group
 * of service account subjects, field references without their default
 * apiVersion, and memory sizes in
 * MiB that are whole GiB. Left in, a second `kubectl apply` is never
 * `unchanged` and `kubectl apply --server-side` conflicts on them, so GitOps
 * tools would show a permanent diff.
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { changeRendered } from './objects';

const EMPTY_LISTS_DROPPED = new Set(['externalIPs', 'resourceNames']);
const DEFAULTS_DROPPED: Record<string, unknown> = { minReadySeconds: 0, hostNetwork: false };
const RESOURCE_LISTS = new Set(['limits', 'requests']);

/** `2048Mi` → `2Gi`, as the server canonicalises it; undefined when already canonical. */
export function canonicalMemory(value: string): string | undefined {
  const match = /^(\d+)Mi$/.exec(value);
  if (!match || Number(match[1]) === 0 || Number(match[1]) % 1024 !== 0) return undefined;
  return `${Number(match[1]) / 1024}Gi`;
}

/** Rewrites a rendered object, in place, into the form the server stores; `at` is the path of `node`. */
function normalise(node: unknown, at: readonly string[]): void {
  if (node === null || typeof node !== 'object') return;
  const fields = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (EMPTY_LISTS_DROPPED.has(key) && Array.isArray(value) && value.length === 0) {
      delete fields[key];
    } else if (key in DEFAULTS_DROPPED && value === DEFAULTS_DROPPED[key]) {
      delete fields[key];
    } else if (key === 'apiGroup' && value === '' && at[at.length - 2] === 'subjects') {
      delete fields[key];
    } else if (RESOURCE_LISTS.has(at[at.length - 1]) && typeof value === 'string' && canonicalMemory(value)) {
      fields[key] = canonicalMemory(value);
    } else if (key === 'fieldRef' && value && typeof value === 'object' && !('apiVersion' in value)) {
      // The server defaults a field reference's apiVersion, and server-side apply treats the
      // reference as one atomic value: left out, every apply conflicts with the stored one.
      fields[key] = { apiVersion: 'v1', ...value };
    } else {
      normalise(value, [...at, key]);
    }
  }
}

const normalisedObjects = new WeakSet<ApiObject>();

/**
 * Makes every object under `scope` render in the form the API server stores.
 * Call it last, after every construct has been added. It rewrites what each
 * render returns, a fresh tree every time, so it costs a walk of the output
 * rather than a render of its own.
 */
export function omitServerNormalisedFields(scope: IConstruct): void {
  for (const apiObject of scope.node.findAll().filter(ApiObject.isApiObject)) {
    if (normalisedObjects.has(apiObject)) continue;
    normalisedObjects.add(apiObject);
    changeRendered(apiObject, (rendered) => normalise(rendered, []));
  }
}
