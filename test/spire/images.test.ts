import * as fs from 'fs';
import * as path from 'path';
import { ApiObject } from 'cdk8s';
import { DefaultImages } from '../../lib/spire/images';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

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

test('the OIDC Discovery Provider deployed is the release the conformance suite runs', () => {
  expect(tagOf(DefaultImages.OIDC_DISCOVERY_PROVIDER)).toBe(conformancePin('tools/oidc-discovery-provider', 'github.com/spiffe/spire'));
});

test('the controller manager deployed is the release whose API package the conformance suite parses ClusterSPIFFEIDs with', () => {
  expect(tagOf(DefaultImages.SPIRE_CONTROLLER_MANAGER)).toBe(conformancePin('clusterspiffeid', 'github.com/spiffe/spire-controller-manager'));
});

test('the e2e node\'s SPIRE server and agent images hold the binaries the conformance suite builds from the pinned module', () => {
  const read = (file: string) => fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
  expect(read('conformance/lib/tools.sh')).toMatch(/go_build_spire_with_cgo\(\) \{\n\s+CGO_ENABLED=1 go_build_in_module "\$CONFORMANCE_DIR\/tools\/spire"/);
  expect(read('e2e/lib/tools.sh')).toContain('source "$CONFORMANCE_DIR/lib/tools.sh"');
  expect(read('e2e/lib/images.sh')).toContain('bin="$(spire_cgo_bin "spire-$kind")"');
  expect(read('e2e/lib/images.sh')).toMatch(/ghcr\.io\/spiffe\/spire-server\) stage_spire "\$root" "\$tag" server /);
});

test('the e2e suite runs the controller manager release the image deploys', () => {
  expect(tagOf(DefaultImages.SPIRE_CONTROLLER_MANAGER)).toBe(pin('e2e/tools/spire-controller-manager', 'github.com/spiffe/spire-controller-manager'));
});

test('fromRegistry replaces the registry and keeps path and tag', () => {
  expect(DefaultImages.fromRegistry(DefaultImages.SPIRE_SERVER, 'mirror.example:5000/ghcr')).toBe('mirror.example:5000/ghcr/spiffe/spire-server:1.15.3');
  expect(DefaultImages.fromRegistry(DefaultImages.NODE_DRIVER_REGISTRAR, 'mirror.example')).toBe('mirror.example/sig-storage/csi-node-driver-registrar:v2.15.0');
  expect(DefaultImages.fromRegistry(DefaultImages.SPIRE_SERVER)).toBe(DefaultImages.SPIRE_SERVER);
});

/** The images of the server and agent pods, by container name. */
function images(overrides: StackOverrides) {
  const { server, agent } = buildStack(overrides);
  const containers = (workload: any) => ApiObject.of(workload).toJson().spec.template.spec.containers;
  return Object.fromEntries([...containers(server.statefulSet), ...containers(agent.daemonSet)].map((container: any) => [container.name, container.image]));
}

describe('imageRegistry', () => {
  test('the server\'s registry reaches every default image of server, agent and CSI driver', () => {
    expect(images({ server: { imageRegistry: 'mirror.example/spire' } })).toEqual({
      'spire-server': 'mirror.example/spire/spiffe/spire-server:1.15.3',
      'spire-controller-manager': 'mirror.example/spire/spiffe/spire-controller-manager:0.7.0',
      'spire-agent': 'mirror.example/spire/spiffe/spire-agent:1.15.3',
      'spiffe-csi-driver': 'mirror.example/spire/spiffe/spiffe-csi-driver:0.2.13',
      'node-driver-registrar': 'mirror.example/spire/sig-storage/csi-node-driver-registrar:v2.15.0',
      'csi-liveness-probe': 'mirror.example/spire/sig-storage/livenessprobe:v2.17.0',
    });
  });

  test('an image set explicitly is used as given; the agent may name a registry of its own', () => {
    const chosen = images({
      server: { imageRegistry: 'mirror.example', image: 'ghcr.io/spiffe/spire-server:1.15.3' },
      agent: { imageRegistry: 'node-mirror.example' },
    });
    expect(chosen['spire-server']).toBe('ghcr.io/spiffe/spire-server:1.15.3');
    expect(chosen['spire-controller-manager']).toBe('mirror.example/spiffe/spire-controller-manager:0.7.0');
    expect(chosen['spire-agent']).toBe('node-mirror.example/spiffe/spire-agent:1.15.3');
    expect(chosen['spiffe-csi-driver']).toBe('node-mirror.example/spiffe/spiffe-csi-driver:0.2.13');
  });

  test.each(['https://mirror.example', 'mirror.example/', 'Mirror.Example'])('registry %j is rejected', (imageRegistry) => {
    expect(synthErrors(buildStack({ server: { imageRegistry } }).app)).toEqual([expect.stringContaining(`[spire/Server] imageRegistry ${JSON.stringify(imageRegistry)}: a registry is a host`)]);
  });
});
