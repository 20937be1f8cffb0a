import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

/** One Kubernetes object read from a manifest file. */
export interface ManifestObject {
  readonly file: string;
  readonly doc: KubeObject;
}

/** The loosely typed shape of any Kubernetes object. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [field: string]: any;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Files under the given paths that can hold manifests, sorted, so findings come in a stable order. */
export function manifestFiles(paths: string[]): string[] {
  return paths.flatMap((entry) => {
    if (!fs.statSync(entry).isDirectory()) return [entry];
    return fs.readdirSync(entry, { recursive: true, encoding: 'utf8' })
      .map((relative) => path.join(entry, relative))
      .filter((file) => MANIFEST_EXTENSIONS.includes(path.extname(file)) && fs.statSync(file).isFile())
      .sort();
  });
}

/** Parses multi-document YAML the way kubectl does (YAML 1.1), keeping objects that have a kind. */
export function parseManifests(file: string, text: string): ManifestObject[] {
  return YAML.parseAllDocuments(text, { version: '1.1' })
    .map((document) => {
      if (document.errors.length > 0) {
        throw new Error(`${file}: not valid YAML: ${document.errors[0].message}`);
      }
      return document.toJS() as unknown;
    })
    .flatMap((doc) => (isList(doc) ? doc.items : [doc]))
    .filter((doc): doc is KubeObject => typeof doc === 'object' && doc !== null && typeof (doc as KubeObject).kind === 'string')
    .map((doc) => ({ file, doc }));
}

function isList(doc: unknown): doc is { items: unknown[] } {
  return typeof doc === 'object' && doc !== null && (doc as KubeObject).kind === 'List' && Array.isArray((doc as { items?: unknown }).items);
}

/**
 * The kind under which an istiod Helm values file joins the input. It has a
 * space so that no Kubernetes kind can be mistaken for it.
 */
export const ISTIOD_HELM_VALUES = 'istiod Helm values';

/** How the project names the values file it writes; other names are passed with `--istiod-values`. */
const ISTIOD_VALUES_FILE_NAME = /(^|[-_.])istiod-values\.ya?ml$/;

export function isIstiodValuesFile(file: string): boolean {
  return ISTIOD_VALUES_FILE_NAME.test(path.basename(file));
}

/**
 * A values file for Istio's istiod chart, read as the IstioOperator that
 * carries the same settings: the chart's values are the operator's
 * `spec.values`, and its `meshConfig` is the operator's `spec.meshConfig`.
 */
export function parseIstiodValues(file: string, text: string): ManifestObject {
  const document = YAML.parseDocument(text, { version: '1.1' });
  if (document.errors.length > 0) throw new Error(`${file}: not valid YAML: ${document.errors[0].message}`);
  const values = document.toJS() as unknown;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new Error(`${file}: not an istiod Helm values file: expected a mapping of values`);
  }
  return istiodValuesObject(file, values as KubeObject);
}

/** istiod Helm values as the IstioOperator-shaped object the rules read. */
export function istiodValuesObject(file: string, values: KubeObject): ManifestObject {
  return { file, doc: { kind: ISTIOD_HELM_VALUES, spec: { meshConfig: values.meshConfig, values } } };
}

export function loadManifests(paths: string[]): ManifestObject[] {
  return manifestFiles(paths).flatMap((file) => parseManifests(file, fs.readFileSync(file, 'utf8')));
}

/** Reads manifests under the paths, and istiod Helm values from the files so named or passed as such. */
export function loadInput(paths: string[], istiodValuesFiles: string[] = []): ManifestObject[] {
  const files = [...new Set([...manifestFiles(paths), ...istiodValuesFiles])];
  return files.flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return istiodValuesFiles.includes(file) || isIstiodValuesFile(file) ? [parseIstiodValues(file, text)] : parseManifests(file, text);
  });
}

/** `Kind namespace/name`, how findings name an object. */
export function describe(doc: KubeObject): string {
  if (doc.kind === ISTIOD_HELM_VALUES) return ISTIOD_HELM_VALUES;
  const namespace = doc.metadata?.namespace;
  return `${doc.kind} ${namespace ? `${namespace}/` : ''}${doc.metadata?.name ?? '(unnamed)'}`;
}
