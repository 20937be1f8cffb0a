import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

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
