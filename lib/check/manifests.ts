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

export function loadManifests(paths: string[]): ManifestObject[] {
  return manifestFiles(paths).flatMap((file) => parseManifests(file, fs.readFileSync(file, 'utf8')));
}

/** `Kind namespace/name`, how findings name an object. */
export function describe(doc: KubeObject): string {
  const namespace = doc.metadata?.namespace;
  return `${doc.kind} ${namespace ? `${namespace}/` : ''}${doc.metadata?.name ?? '(unnamed)'}`;
}
