import * as YAML from 'yaml';

/** The pod annotation that overrides the mesh's sidecar mode for one pod. */
export const NATIVE_SIDECAR_ANNOTATION = 'sidecar.istio.io/nativeSidecar';

/**
 * The Go template condition, as Istio's injector evaluates it, that is true
 * when istio-proxy runs as a native sidecar in this pod: the pod's annotation
 * when it has one, else the mesh setting.
 */
export const NATIVE_SIDECAR_CONDITION = `ne (index .ObjectMeta.Annotations \`${NATIVE_SIDECAR_ANNOTATION}\` | default (printf "%t" .NativeSidecars)) "false"`;

const PROXY_LIST_PLACEHOLDER = 'x-proxy-list';

/**
 * Renders an injection template whose `proxyPatch` goes to `initContainers`
 * when the pod runs istio-proxy as a native sidecar and to `containers`
 * otherwise, decided per pod by Istio at injection time.
 */
export function sidecarModeAwareTemplate(proxyPatch: object, volumes: object[]): string {
  const text = YAML.stringify({ spec: { [PROXY_LIST_PLACEHOLDER]: [proxyPatch], volumes } }, { lineWidth: 0 });
  return text.replace(`  ${PROXY_LIST_PLACEHOLDER}:`, [
    `  {{- if ${NATIVE_SIDECAR_CONDITION} }}`,
    '  initContainers:',
    '  {{- else }}',
    '  containers:',
    '  {{- end }}',
  ].join('\n'));
}

const DIRECTIVE = /[ \t]*\{\{-?\s*(if\s+(.+?)|else|end)\s*-?\}\}/g;

/**
 * Evaluates the one piece of Go template logic injection templates here use,
 * `if <sidecar mode> … else … end`, for a pod whose istio-proxy is (or is not)
 * a native sidecar, and parses the result. Returns undefined for any other
 * template logic, which only Istio itself can evaluate.
 */
export function renderForSidecarMode(template: string, nativeSidecar: boolean): any {
  if (!template.includes('{{')) return YAML.parse(template) ?? {};
  const pieces: string[] = [];
  const keep: boolean[] = [];
  let last = 0;
  for (const match of template.matchAll(DIRECTIVE)) {
    // `{{-` trims the whitespace and newline before the directive.
    pieces.push(template.slice(last, match.index).replace(/\s*$/, ''));
    last = match.index! + match[0].length;
    const [, keyword, condition] = match;
    if (keyword.startsWith('if')) {
      if (!/nativeSidecar|NativeSidecars/.test(condition)) return undefined;
      keep.push(nativeSidecar);
    } else if (keyword === 'else') {
      keep.push(!keep.pop());
    } else {
      keep.pop();
    }
    pieces.push(keep.every(Boolean) ? '\u0000' : '\u0001');
  }
  if (keep.length > 0 || template.slice(last).includes('{{')) return undefined;
  pieces.push(template.slice(last));
  return YAML.parse(selectBranches(pieces)) ?? {};
}

/** Joins the text between directives, dropping what lies in branches not taken. */
function selectBranches(pieces: string[]): string {
  let out = '';
  let taking = true;
  for (const piece of pieces) {
    if (piece === '\u0000') taking = true;
    else if (piece === '\u0001') taking = false;
    else if (taking) out += piece;
  }
  return out;
}
