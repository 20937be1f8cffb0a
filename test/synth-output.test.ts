import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Yaml } from 'cdk8s';
import { SpireIstioMesh } from '../lib/charts/spire-istio-mesh';
import { SpireIstioApp } from '../lib/constructs/spire-istio-app';
import { filesUnder, scratchDir } from './support/files';

function meshApp(outdir: string, trustDomain: string, clusterName = 'demo'): SpireIstioApp {
  const app = new SpireIstioApp({ outdir });
  new SpireIstioMesh(app, 'Mesh', { trustDomain, clusterName });
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

  test('a report that would miss objects cdk8s wrote stops the synth, keeping the last good output', () => {
    const outdir = path.join(scratchDir(), 'out');
    meshApp(outdir, 'example.org').synth();
    const good = filesUnder(outdir);
    const app = meshApp(outdir, 'example.org', 'another-cluster');
    // A cdk8s that writes one chart's file some other way than Yaml.save.
    const spy = jest.spyOn(App.prototype, 'synth').mockImplementation(function (this: App) {
      for (const chart of this.charts) {
        const file = path.join(this.outdir, `${chart.node.id}.k8s.yaml`);
        if (chart.node.id === 'spire') fs.writeFileSync(file, JSON.stringify(chart.toJson()));
        else Yaml.save(file, chart.toJson());
      }
    });
    try {
      expect(() => app.synth()).toThrow(/the wiring checks saw \d+ of the \d+ objects cdk8s wrote/);
    } finally {
      spy.mockRestore();
    }
    expect(filesUnder(outdir)).toEqual(good);
  });
});
