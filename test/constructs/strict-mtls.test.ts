import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { StrictMtls } from '../../lib/constructs/strict-mtls';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

function mtlsStack(overrides: StackOverrides = {}) {
  const stack = buildStack(overrides);
  const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
  return { ...stack, namespace, mtls: new StrictMtls(stack.apps, 'Mtls', { profile: stack.profile, namespace }) };
}

describe('StrictMtls', () => {
  test('a STRICT PeerAuthentication for the namespace, or for the mesh in Istio\'s root namespace', () => {
    const { app, apps, profile, mtls } = mtlsStack();
    expect(mtls.peerAuthentication.toJson()).toEqual({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace: 'shop' },
      spec: { mtls: { mode: 'STRICT' } },
    });
    const mesh = new StrictMtls(apps, 'MeshMtls', { profile });
    expect(mesh.peerAuthentication.toJson().metadata).toEqual({ name: 'default', namespace: 'istio-system' });
    expect(synthErrors(app)).toEqual([]);
  });

  test('the mesh-wide policy follows meshConfig.rootNamespace', () => {
    const { apps, profile } = mtlsStack({ profile: { meshConfig: { rootNamespace: 'mesh-config' } } });
    expect(new StrictMtls(apps, 'MeshMtls', { profile }).peerAuthentication.toJson().metadata.namespace).toBe('mesh-config');
  });
});
