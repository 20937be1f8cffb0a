/**
 * Fields cdk8s-plus renders that the API server drops or rewrites when it
 * stores an object: empty lists, zero and false defaults, the empty API group
 * of service account subjects, field references without their default
 * apiVersion, and memory sizes in
 * MiB that are whole GiB. Left in, a second `kubectl apply` is never
 * `unchanged` and `kubectl apply --server-side` conflicts on them, so GitOps
 * tools would show a permanent diff.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import { IConstruct } from 'constructs';
import { Quantity } from './objects';
import { pointerKey } from './pod-template';

const EMPTY_LISTS_DROPPED = new Set(['externalIPs', 'resourceNames']);
const DEFAULTS_DROPPED: Record<string, unknown> = { minReadySeconds: 0, hostNetwork: false };
const RESOURCE_LISTS = new Set(['limits', 'requests']);

const pointer = (segments: readonly string[]) => segments.map((segment) => `/${pointerKey(segment)}`).join('');

/** `2048Mi` → `2Gi`, as the server canonicalises it; undefined when already canonical. */
export function canonicalMemory(value: string): string | undefined {
  const match = /^(\d+)Mi$/.exec(value);
  if (!match || Number(match[1]) === 0 || Number(match[1]) % 1024 !== 0) return undefined;
  return `${Number(match[1]) / 1024}Gi`;
}

function patchesFor(node: unknown, at: readonly string[], patches: JsonPatch[]): void {
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    const path = [...at, key];
    if (EMPTY_LISTS_DROPPED.has(key) && Array.isArray(value) && value.length === 0) {
      patches.push(JsonPatch.remove(pointer(path)));
    } else if (key in DEFAULTS_DROPPED && value === DEFAULTS_DROPPED[key]) {
      patches.push(JsonPatch.remove(pointer(path)));
    } else if (key === 'apiGroup' && value === '' && at[at.length - 2] === 'subjects') {
      patches.push(JsonPatch.remove(pointer(path)));
    } else if (RESOURCE_LISTS.has(at[at.length - 1]) && typeof value === 'string' && canonicalMemory(value)) {
      patches.push(JsonPatch.replace(pointer(path), Quantity.fromString(canonicalMemory(value)!)));
    } else {
      // The server defaults a field reference's apiVersion, and server-side apply treats the
      // reference as one atomic value: left out, every apply conflicts with the stored one.
      if (key === 'fieldRef' && value && typeof value === 'object' && !('apiVersion' in value)) {
        patches.push(JsonPatch.add(pointer([...path, 'apiVersion']), 'v1'));
      }
      patchesFor(value, path, patches);
    }
  }
}

/**
 * Patches every object under `scope` into the form the API server stores.
 * Call it last, after every construct has been added. The fields it touches
 * have the same names in the typed props the patches apply to as in the
 * rendered YAML.
 */
export function omitServerNormalisedFields(scope: IConstruct): void {
  for (const apiObject of scope.node.findAll().filter(ApiObject.isApiObject)) {
    const patches: JsonPatch[] = [];
    patchesFor(apiObject.toJson(), [], patches);
    apiObject.addJsonPatch(...patches);
  }
}
