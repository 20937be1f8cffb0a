import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

/** Every file under a directory with its bytes, by relative path. */
export function filesUnder(dir: string): Record<string, string> {
  const entries = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Object.fromEntries(entries.map((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return [path.relative(dir, file), fs.readFileSync(file, 'base64')];
  }).sort(([a], [b]) => a.localeCompare(b)));
}

/** A fresh, empty directory under the system's temporary directory. */
export function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-synth-'));
}

/**
 * A copy of the manifests under a directory that `include` keeps (by path
 * relative to it), with the objects of one of those files edited.
 */
export function editedCopy(dir: string, file: string, edit: (docs: any[]) => void, include: (relative: string) => boolean = isYaml): string {
  const copy = scratchDir();
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((relative) => include(relative) && fs.statSync(path.join(dir, relative)).isFile());
  for (const relative of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, relative), 'utf8')).map((document) => document.toJS());
    if (relative === file) edit(docs);
    fs.mkdirSync(path.dirname(path.join(copy, relative)), { recursive: true });
    fs.writeFileSync(path.join(copy, relative), docs.map((doc) => YAML.stringify(doc)).join('---\n'));
  }
  return copy;
}

function isYaml(relative: string): boolean {
  return /\.ya?ml$/.test(relative);
}
