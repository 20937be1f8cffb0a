import * as fs from 'fs';
import * as path from 'path';
import * as semver from 'semver';

interface LockedPackage {
  readonly engines?: { readonly node?: string } | string[];
  readonly hasInstallScript?: boolean;
}

type Locked = Record<string, LockedPackage>;

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', file), 'utf8'));
}

/** The installed packages of a lockfile, by location, without the project itself. */
function installed(packages: Locked): [string, LockedPackage][] {
  return Object.entries(packages).filter(([location]) => location !== '');
}

/** The locked packages whose declared Node.js range leaves out a version the project supports. */
function packagesNarrowerThan(supported: string, packages: Locked): string[] {
  return installed(packages).flatMap(([location, { engines }]) => {
    const node = Array.isArray(engines) ? undefined : engines?.node;
    return node !== undefined && !semver.subset(supported, node) ? [`${location}: node ${node}`] : [];
  });
}

/** The locked packages with install scripts that allowScripts neither allows nor denies. */
function scriptsUndecided(allowScripts: Record<string, boolean>, packages: Locked): string[] {
  return installed(packages)
    .filter(([, { hasInstallScript }]) => hasInstallScript)
    .map(([location]) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .filter((name) => !(name in allowScripts));
}

// npm ci prints a warning for each of these: EBADENGINE for a package whose engines exclude the
// running Node.js, and, since npm 11, a list of the install scripts it skipped undecided.
describe('what npm ci installs', () => {
  const pkg = readJson('package.json');
  const lock = readJson('package-lock.json');

  test('every locked package, dev ones included, runs on every Node.js version package.json declares', () => {
    expect(packagesNarrowerThan(pkg.engines.node, lock.packages)).toEqual([]);
  });

  test('a package that needs a newer Node.js than declared is named', () => {
    expect(packagesNarrowerThan('>=20', { '': {}, 'node_modules/a': { engines: { node: '>=22' } }, 'node_modules/b': { engines: { node: '>=14' } } }))
      .toEqual(['node_modules/a: node >=22']);
  });

  test('allowScripts decides on every locked package with an install script', () => {
    expect(scriptsUndecided(pkg.allowScripts ?? {}, lock.packages)).toEqual([]);
  });

  test('a nested package with an install script and no decision is named', () => {
    const packages = { 'node_modules/a/node_modules/@s/b': { hasInstallScript: true }, 'node_modules/c': { hasInstallScript: true }, 'node_modules/d': {} };
    expect(scriptsUndecided({ c: false }, packages)).toEqual(['@s/b']);
  });
});
