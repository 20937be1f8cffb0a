/** A SPIRE config read from a ConfigMap, in the shape SPIRE's JSON form has. */
export type SpireConfig =
  | { readonly format: 'JSON' | 'HCL'; readonly config: any }
  | { readonly format: 'unreadable'; readonly reason: string };

/**
 * Reads a SPIRE server or agent config. SPIRE reads both JSON and HCL; HCL is
 * parsed with HashiCorp's v1 decoder, the one SPIRE itself uses.
 */
export function parseSpireConfig(text: string): SpireConfig {
  try {
    return { format: 'JSON', config: JSON.parse(text) };
  } catch {
    return parseHcl(text);
  }
}

/**
 * The HCL parser, loaded on first use: loading and starting it takes longer
 * than a synth of the default deployment spends on its JSON configs.
 */
function hclParser(): typeof import('js-hcl-parser') {
  return require('js-hcl-parser');
}

function parseHcl(text: string): SpireConfig {
  const output = hclParser().parse(text);
  // The parser returns its error message instead of JSON when the text is not HCL.
  if (!output.startsWith('{')) return { format: 'unreadable', reason: output.replace(/^unable to parse JSON: /, '') };
  return { format: 'HCL', config: listPlugins(mergeBlocks(JSON.parse(output))) };
}

/** SPIRE's JSON form lists the plugins of a type as one-key objects: `"NodeAttestor": [{ "k8s_psat": { ... } }]`. */
function listPlugins(config: unknown): unknown {
  if (!isObject(config) || !isObject(config.plugins)) return config;
  const plugins = Object.entries(config.plugins).map(([type, section]) =>
    [type, isObject(section) ? Object.entries(section).map(([name, body]) => ({ [name]: body })) : section]);
  return { ...config, plugins: Object.fromEntries(plugins) };
}

/**
 * HCL decodes every block, and every map written as `key = { ... }`, into a
 * list of objects: `plugins { NodeAttestor "k8s_psat" { plugin_data { ... } } }`
 * becomes lists at each level. SPIRE's decoder merges such lists into the
 * object its config field has, so they are merged here too, giving the shape
 * the JSON form has. Lists of plain values stay lists.
 */
function mergeBlocks(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.length > 0 && value.every(isObject) ? Object.assign({}, ...value.map(mergeBlocks)) : value;
  }
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, mergeBlocks(entry)]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
