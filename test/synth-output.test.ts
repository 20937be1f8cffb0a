import * as fs from 'fs';
import * as path from 'path';
import { Chart } from 'cdk8s';
import { SpireIstioMesh } from '../lib/charts/spire-istio-mesh';
import { SpireIstioApp } from '../lib/constructs/spire-istio-app';
import { filesUnder, scratchDir } from './support/files';

function meshApp(outdir: string, trustDomain: string, clusterName = 'demo'): SpireIstioApp {
  const app = new SpireIstioApp({ outdir });
  new SpireIstioMesh(app, { trustDomain, clusterName });
  return app;
}

describe('SpireIstioApp.synth', () => {
  test('replaces the output directory whole: files of an earlier synth do not stay behind', () => {
    const parent = scratchDir();
    const outdir = path.join(parent, 'out');
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, '0009-removed-chart.k8s.yaml'), 'stale: true\n');
    meshApp(outdir, 'example.org').synth();
    expect(Object.keys(filesUnder(outdir))).toEqual([
      '0000-crds.k8s.yaml', '0001-spire.k8s.yaml', '0002-identities.k8s.yaml', '0003-istio-profile.k8s.yaml',
      '0004-workloads.k8s.yaml', 'helm/istiod-values.yaml', 'WIRING.md',
    ]);
    expect(fs.readdirSync(parent)).toEqual(['out']);
  });

  test('a synth that fails leaves the last good output as it was and no scratch directory', () => {
    const parent = scratchDir();
    const outdir = path.join(parent, 'out');
    meshApp(outdir, 'example.org').synth();
    const good = filesUnder(outdir);
    expect(() => meshApp(outdir, 'Example.org').synth()).toThrow(/trust domain holds only lowercase/);
    expect(filesUnder(outdir)).toEqual(good);
    expect(fs.readdirSync(parent)).toEqual(['out']);
  });

  test('a chart that fails while being written leaves the last good output as it was', () => {
    const outdir = path.join(scratchDir(), 'out');
    meshApp(outdir, 'example.org').synth();
    const good = filesUnder(outdir);
    const app = meshApp(outdir, 'example.org', 'another-cluster');
    const failing = new Chart(app, 'zz-failing');
    failing.toJson = () => {
      throw new Error('cannot render');
    };
    expect(() => app.synth()).toThrow('cannot render');
    expect(filesUnder(outdir)).toEqual(good);
  });
});
