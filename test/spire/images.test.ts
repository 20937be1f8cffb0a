import * as fs from 'fs';
import * as path from 'path';
import { DefaultImages } from '../../lib/spire/images';

/** The version of a module the conformance suite builds and validates with, from its go.mod. */
function conformancePin(moduleDir: string, modulePath: string): string {
  const goMod = fs.readFileSync(path.join(__dirname, '..', '..', 'conformance', moduleDir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*${modulePath.replace(/\./g, '\\.')} v(\\S+)(\\s+//.*)?$`, 'm').exec(goMod);
  if (!match) throw new Error(`${modulePath} is not required in conformance/${moduleDir}/go.mod`);
  return match[1];
}

const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

test('the SPIRE images deployed are the release the conformance suite validates the configs with', () => {
  expect(tagOf(DefaultImages.SPIRE_SERVER)).toBe(conformancePin('tools/spire', 'github.com/spiffe/spire'));
  expect(tagOf(DefaultImages.SPIRE_AGENT)).toBe(conformancePin('tools/spire', 'github.com/spiffe/spire'));
});

test('the controller manager deployed is the release whose API package the conformance suite parses ClusterSPIFFEIDs with', () => {
  expect(tagOf(DefaultImages.SPIRE_CONTROLLER_MANAGER)).toBe(conformancePin('clusterspiffeid', 'github.com/spiffe/spire-controller-manager'));
});
