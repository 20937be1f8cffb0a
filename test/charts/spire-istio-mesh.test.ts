import { Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { isSynthFailure } from '../../lib/validation/synth-failure';
import { testApp } from '../support/stack';

const PROPS = { trustDomain: 'example.org', clusterName: 'prod' };

/** The error a construction throws, or undefined when it does not. */
function thrownBy(construct: () => unknown): Error | undefined {
  try {
    construct();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('SpireIstioMesh', () => {
  test('is a construct of its scope, with its stage charts beside it, so the files keep their stage names', () => {
    const app = testApp();
    const mesh = new SpireIstioMesh(app, 'Mesh', PROPS);
    expect(mesh.node.path).toBe('Mesh');
    expect(mesh.node.children).toEqual([]);
    expect(app.charts.map((chart) => chart.node.path)).toEqual(['crds', 'spire', 'identities', 'istio-profile', 'workloads']);
    expect([mesh.server.serviceName, mesh.server.namespace, mesh.agent.namespace, mesh.meshIdentity.name, mesh.profile.name])
      .toEqual(['spire-server', 'spire-server', 'spire-system', 'istio-mesh-workloads', 'istio-spire']);
  });

  test('a second mesh in the app stops the synth, naming both meshes, the fix and federation', () => {
    const app = testApp();
    new SpireIstioMesh(app, 'Mesh', PROPS);
    const error = thrownBy(() => new SpireIstioMesh(app, 'Other', { trustDomain: 'other.example', clusterName: 'prod' }));
    expect(isSynthFailure(error)).toBe(true);
    expect(error?.message).toMatch(/^Other: a second SpireIstioMesh in the app, beside Mesh\. /);
    expect(error?.message).toContain('Both would emit the cluster-wide spire.spiffe.io CRDs and the CSIDriver csi.spiffe.io');
    expect(error?.message).toContain('Fix: one mesh per cluster: give another cluster an app of its own');
    expect(error?.message).toContain('join another trust domain by federation (mesh.federateWith');
  });

  test('a second mesh is refused wherever it sits in the app', () => {
    const app = testApp();
    new SpireIstioMesh(new Construct(app, 'ClusterA'), 'Mesh', PROPS);
    expect(() => new SpireIstioMesh(new Construct(app, 'ClusterB'), 'Mesh', PROPS)).toThrow(/^ClusterB\/Mesh: a second SpireIstioMesh in the app, beside ClusterA\/Mesh\./);
  });

  test('each app has a mesh of its own', () => {
    const meshes = [Testing.app(), Testing.app()].map((app) => new SpireIstioMesh(app, 'Mesh', PROPS));
    expect(meshes.map((mesh) => mesh.node.path)).toEqual(['Mesh', 'Mesh']);
  });
});
