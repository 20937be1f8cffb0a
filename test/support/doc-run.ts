import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DocProgram, REPO } from './doc-blocks';

/** Where the programs run: under build/, so that their imports resolve from the repository's node_modules. */
export const RUN_DIR = path.join(REPO, 'build', 'doc-programs');
const RUN_TIMEOUT_MS = 60_000;

/**
 * Runs a TypeScript program of the docs as a user's app runs, in a directory
 * of its own where `cdk8s-spire-istio` is this repository's library, and
 * returns what went wrong, naming the file and line of its last block: a
 * failed run, or a run that wrote no manifest (an app never synthesized).
 */
export function runTypeScriptProgram(program: DocProgram): string[] {
  const where = `${program.block.file}:${program.block.line}`;
  const dir = path.join(RUN_DIR, where.replace(/[^\w.-]+/g, '-'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  linkLibrary();
  fs.writeFileSync(path.join(dir, 'main.ts'), `${program.code}\n`);
  const env = { ...process.env };
  delete env.CDK8S_OUTDIR;
  const run = spawnSync(process.execPath, ['--require', path.join(REPO, 'scripts', 'register-typescript.cjs'), 'main.ts'], {
    cwd: dir, env, encoding: 'utf8', timeout: RUN_TIMEOUT_MS,
  });
  if (run.status !== 0) return [`${where}: exited ${run.status ?? run.signal}: ${run.stderr.trim() || run.stdout.trim()}`];
  const manifests = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.k8s.yaml'));
  return manifests.length ? [] : [`${where}: ran but wrote no manifest: does it call app.synth()?`];
}

/** `cdk8s-spire-istio`, as the programs import it, is the library's source. */
function linkLibrary(): void {
  const shim = path.join(RUN_DIR, 'node_modules', 'cdk8s-spire-istio');
  fs.mkdirSync(shim, { recursive: true });
  fs.writeFileSync(path.join(shim, 'index.js'), `module.exports = require(${JSON.stringify(path.join(REPO, 'lib', 'index.ts'))});\n`);
}
