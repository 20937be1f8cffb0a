/**
 * Lets `node --require ./scripts/register-typescript.cjs main.ts` run the
 * project's TypeScript, the way `npm run synth` runs the app.
 *
 * It compiles only `.ts` files, with esbuild and the project's tsconfig, and
 * keeps each compiled file in a cache under the OS temp directory, keyed by
 * content; a file compiles again only when it changed. General-purpose
 * loaders such as tsx also scan every JavaScript file of every package for
 * ES module syntax and turn on source maps for all of them, which cost the
 * synth more than the app's own work. Type checking stays with `npm test`.
 *
 * Compiled files carry inline source maps: run node with
 * `--enable-source-maps` for stack traces in TypeScript lines.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const TSCONFIG = fs.readFileSync(path.join(__dirname, '..', 'tsconfig.json'), 'utf8');
// Per user; by id where there is one, as a container's user may have no name.
const CACHE_DIR = path.join(os.tmpdir(), `cdk8s-spire-istio-ts-${process.geteuid ? process.geteuid() : os.userInfo().username}`);
// What else decides the output: the compiler's version, the tsconfig, and this file.
const CACHE_SALT = [require('esbuild/package.json').version, TSCONFIG, fs.readFileSync(__filename, 'utf8')].join('\0');

let esbuild;

function compile(source, filename) {
  esbuild ??= require('esbuild');
  return esbuild.transformSync(source, {
    loader: 'ts',
    format: 'cjs',
    target: `node${process.versions.node}`,
    sourcefile: filename,
    sourcemap: 'inline',
    tsconfigRaw: TSCONFIG,
  }).code;
}

function cached(source, filename) {
  const key = crypto.createHash('sha256').update(CACHE_SALT).update('\0').update(filename).update('\0').update(source).digest('hex');
  const file = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    const code = compile(source, filename);
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    // Written aside and renamed, so a concurrent run never reads half a file.
    const partial = `${file}.${process.pid}`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, file);
    return code;
  }
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(cached(fs.readFileSync(filename, 'utf8'), filename), filename);
};
