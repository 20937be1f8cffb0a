import * as fs from 'fs';
import * as path from 'path';
import * as semver from 'semver';

interface LockedPackage {
  readonly engines?: { readonly node?: string } | string[];
}

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', file), 'utf8'));
}

/** The locked packages whose declared Node.js range leaves out a version the project supports. */
function packagesNarrowerThan(supported: string, packages: Record<string, LockedPackage>): string[] {
  return Object.entries(packages)
    .filter(([location]) => location !== '')
    .flatMap(([location, { engines }]) => {
      const node = Array.isArray(engines) ? undefined : engines?.node;
      return node !== undefined && !semver.subset(supported, node) ? [`${location}: node ${node}`] : [];
    });
}

// npm ci warns (EBADENGINE) about every installed package whose engines exclude the running Node.js.
describe('the engines of what npm ci installs', () => {
  test('every locked package, dev ones included, runs on every Node.js version package.json declares', () => {
    expect(packagesNarrowerThan(readJson('package.json').engines.node, readJson('package-lock.json').packages)).toEqual([]);
  });

  test('a package that needs a newer Node.js than declared is named', () => {
    expect(packagesNarrowerThan('>=20', { '': {}, 'node_modules/a': { engines: { node: '>=22' } }, 'node_modules/b': { engines: { node: '>=14' } } }))
      .toEqual(['node_modules/a: node >=22']);
  });
});
