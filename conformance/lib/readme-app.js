// The README's "own cdk8s app" example, verbatim, as a user runs it: the packed library installed
// into a scratch app beside cdk8s-plus-33, the example type-checked strictly and synthesized.
// Shared by the npm package test and the conformance suite.
//
//   node readme-app.js SCRATCH_DIR OUT_DIR     pack, install, type-check, synthesize into OUT_DIR
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const PEERS = ['cdk8s', 'cdk8s-plus-33', 'constructs'];

function run(command, args, cwd, env = {}) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The code block under a README marker `<!-- NAME: ... -->`. */
function readmeBlock(name, language) {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const match = new RegExp(`<!-- ${name}:[^>]*-->\\n\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no ${name} block`);
  return match[1];
}

/** The README's "own cdk8s app" example. */
function readmeExample() {
  return `${readmeBlock('readme-example', 'ts')}\n`;
}

/** The README's install command whose last argument `source` matches, as a command and its arguments. */
function readmeInstallCommand(source) {
  const commands = readmeBlock('readme-install', 'sh').split('\n').map((line) => line.replace(/(^|\s)#.*/, '').trim()).filter(Boolean);
  const command = commands.map((line) => line.split(/\s+/)).find((words) => source.test(words.at(-1)));
  if (!command) throw new Error(`README.md's readme-install block has no command that installs from ${source}`);
  return command;
}

/** Installs the peers at this repository's versions into SCRATCH, as an app that already uses cdk8s has them. */
function installPeers(scratch) {
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'user-app', private: true }));
  // From the local npm cache that installing this repo filled.
  const peers = PEERS.map((name) => `${name}@${require(path.join(NODE_MODULES, name, 'package.json')).version}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...peers], scratch);
}

/** Packs the library, as a release does, and installs it into SCRATCH with the README's command; returns the packed file list. */
function installPackedLibrary(scratch) {
  fs.mkdirSync(scratch, { recursive: true });
  // Built first, so that the build's own output does not mix with pack's JSON.
  run('npm', ['run', 'build'], ROOT);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], ROOT));
  installPeers(scratch);
  const [command, ...args] = readmeInstallCommand(/\.tgz$/);
  run(command, args, scratch);
  return packed.files.map((file) => file.path);
}

/** Writes the example into SCRATCH, type-checks it strictly against the installed declarations and synthesizes into OUTDIR. */
function synthReadmeExample(scratch, outdir) {
  fs.writeFileSync(path.join(scratch, 'main.ts'), readmeExample());
  fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'commonjs', target: 'ES2022', outDir: 'out', skipLibCheck: false, types: [] },
    files: ['main.ts'],
  }));
  run(path.join(NODE_MODULES, '.bin', 'tsc'), ['-p', '.'], scratch);
  run('node', ['out/main.js'], scratch, { CDK8S_OUTDIR: outdir });
}

module.exports = { installPackedLibrary, installPeers, readmeExample, readmeInstallCommand, run, synthReadmeExample };

if (require.main === module) {
  const [scratch, outdir] = process.argv.slice(2);
  if (!scratch || !outdir) {
    console.error('usage: node readme-app.js SCRATCH_DIR OUT_DIR');
    process.exit(2);
  }
  installPackedLibrary(path.resolve(scratch));
  synthReadmeExample(path.resolve(scratch), path.resolve(outdir));
}
