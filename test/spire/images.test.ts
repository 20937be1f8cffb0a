import * as fs from 'fs';
import * as path from 'path';
import { DefaultImages } from '../../lib/spire/images';

/** The version of a module a suite builds and runs, from the go.mod of its wrapper module. */
function pin(moduleDir: string, modulePath: string): string {
  const goMod = fs.readFileSync(path.join(__dirname, '..', '..', moduleDir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${modulePath.replace(/\./g, '\\.')} v(\\S+)(\\s+//.*)?$`, 'm').exec(goMod);
  if (!match) throw new Error(`${modulePath} is not required in ${moduleDir}/go.mod`);
  return match[1];
}

const conformancePin = (moduleDir: string, modulePath: string) => pin(path.join('conformance', moduleDir), modulePath);

const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

test('the SPIRE images deployed are the release the conformance suite validates the configs with', () => {
  expect(tagOf(DefaultImages.SPIRE_SERVER)).toBe(conformancePin('tools/spire', 'github.com/spiffe/spire'));
  expect(tagOf(DefaultImages.SPIRE_AGENT)).toBe(conformancePin('tools/spire', 'github.com/spiffe/spire'));
});

test('the controller manager deployed is the release whose API package the conformance suite parses ClusterSPIFFEIDs with', () => {
  expect(tagOf(DefaultImages.SPIRE_CONTROLLER_MANAGER)).toBe(conformancePin('clusterspiffeid', 'github.com/spiffe/spire-controller-manager'));
});

test('the e2e suite runs the SPIRE server and agent releases the images deploy', () => {
  // e2e/lib/tools.sh builds them from conformance/tools/spire, with CGO for the sqlite datastore.
  expect(fs.readFileSync(path.join(__dirname, '..', '..', 'e2e', 'lib', 'tools.sh'), 'utf8')).toContain('"$CONFORMANCE_DIR/tools/spire"');
});

test('the e2e suite runs the controller manager release the image deploys', () => {
  expect(tagOf(DefaultImages.SPIRE_CONTROLLER_MANAGER)).toBe(pin('e2e/tools/spire-controller-manager', 'github.com/spiffe/spire-controller-manager'));
});
