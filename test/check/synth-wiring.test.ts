import * as fs from 'fs';
import * as path from 'path';
import { ApiObject } from 'cdk8s';
import { loadManifests } from '../../lib/check/manifests';
import { checkManifests } from '../../lib/check/rules';
import { SpireIstioMesh, SpireIstioMeshProps } from '../../lib/charts/spire-istio-mesh';
import { DemoWorkloads } from '../../lib/constructs/demo-workloads';
import { IstioSpireProfile, SidecarMode } from '../../lib/constructs/istio-spire-profile';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { ClusterStaticEntry } from '../../lib/constructs/cluster-static-entry';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { AwsPcaCaTemplate, UpstreamAuthority } from '../../lib/config/upstream-authority';
import { filesUnder, scratchDir } from '../support/files';

/** A mesh with the demo workloads, synthesized into `outdir`; `extend` adds to it before the synth. */
function synthMesh(outdir: string, props: Partial<SpireIstioMeshProps> = {}, extend: (mesh: SpireIstioMesh) => void = () => {}): void {
  const app = new SpireIstioApp({ outdir, wiringReport: false });
  const mesh = new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'demo', ...props });
  new DemoWorkloads(mesh.workloads, 'Demo', { profile: mesh.profile, identity: mesh.meshIdentity });
  extend(mesh);
  app.synth();
}

// One good output for every test: a synth that fails must leave it as it was.
const outdir = path.join(scratchDir(), 'out');
synthMesh(outdir);
const good = filesUnder(outdir);

/** The message of a synth into the good output that must fail, after checking it kept that output. */
function failsKeepingOutput(synth: () => void): string {
  let message = '';
  try {
    synth();
  } catch (error) {
    message = (error as Error).message;
  }
  expect(filesUnder(outdir)).toEqual(good);
  return message;
}

const HOLD = { meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } } };

describe('synth runs the wiring rules of check on what it would write', () => {
  test('classic sidecars held until the proxy starts, with container selectors on, stop the synth before anything is written', () => {
    const message = failsKeepingOutput(() => synthMesh(outdir, { istio: { sidecarMode: SidecarMode.CLASSIC, ...HOLD } }));
    expect(message.split('\n')).toEqual([
      'Wiring check failed: the output breaks 1 rule(s) of `cdk8s-spire-istio check`, so nothing was written:',
      expect.stringMatching(/^ {2}\[spire\/Agent\/Config\] 0001-spire\.k8s\.yaml: error: ConfigMap spire-system\/spire-agent: istio-proxy of Deployment demo\/sleep, Deployment demo\/httpbin is a classic sidecar that holds the application until it starts .* Fix: set disable_container_selectors = true in the agent's k8s WorkloadAttestor \(SpireAgentDaemonSet: disableContainerSelectors: true\), or run these pods with native sidecars\.$/),
    ]);
  });

  test('the same mesh synthesizes once the agent attests without container selectors, or with native sidecars', () => {
    const elsewhere = path.join(scratchDir(), 'out');
    expect(() => synthMesh(elsewhere, { istio: { sidecarMode: SidecarMode.CLASSIC, ...HOLD }, agent: { disableContainerSelectors: true } })).not.toThrow();
    expect(() => synthMesh(elsewhere, { istio: HOLD })).not.toThrow();
  });

  test('cache namespaces without the demo workloads\' namespace stop the synth', () => {
    const message = failsKeepingOutput(() => synthMesh(outdir, { server: { controllerManager: { cacheNamespaces: ['payments'] } } }));
    expect(message).toContain('Deployment demo/httpbin: a ClusterSPIFFEID of class "spire-server-spire" selects this pod, but its controller manager watches only namespaces payments (cacheNamespaces)');
  });

  test('the istiod Helm values go through the rules too', () => {
    const helmValues = Object.getOwnPropertyDescriptor(IstioSpireProfile.prototype, 'helmValues')!.get!;
    const spy = jest.spyOn(IstioSpireProfile.prototype, 'helmValues', 'get').mockImplementation(function (this: IstioSpireProfile) {
      const { meshConfig: _, ...values } = helmValues.call(this);
      return values;
    });
    try {
      expect(failsKeepingOutput(() => synthMesh(outdir))).toContain('[istio-profile/Profile] helm/istiod-values.yaml: error: istiod Helm values: trust domain "cluster.local" differs from "example.org"');
    } finally {
      spy.mockRestore();
    }
  });

  test('objects of your own are checked like the library\'s, and named by their construct', () => {
    const message = failsKeepingOutput(() => synthMesh(outdir, {}, (mesh) => {
      new ApiObject(mesh.workloads, 'Plain', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
      new ApiObject(mesh.workloads, 'Worker', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'worker', namespace: 'plain' },
        spec: {
          selector: { matchLabels: { app: 'worker' } },
          template: {
            metadata: { labels: { 'app': 'worker', 'spiffe.io/spire-managed-identity': 'true' }, annotations: { 'inject.istio.io/templates': mesh.profile.sidecarTemplates } },
            spec: { containers: [{ name: 'worker', image: 'registry.example/worker:1.0' }] },
          },
        },
      });
    }));
    expect(message).toContain('[workloads/Worker] 0004-workloads.k8s.yaml: error: Deployment plain/worker: namespace plain does not have Istio injection enabled');
  });

  test('warnings do not stop the synth: they are about what lies outside the output', () => {
    const elsewhere = path.join(scratchDir(), 'out');
    synthMesh(elsewhere, {}, (mesh) => {
      new ApiObject(mesh.workloads, 'Elsewhere', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'elsewhere', namespace: 'created-elsewhere', labels: { 'spiffe.io/spire-managed-identity': 'true' }, annotations: { 'inject.istio.io/templates': mesh.profile.sidecarTemplates } },
        spec: { containers: [{ name: 'main', image: 'registry.example/main:1.0' }] },
      });
    });
    expect(fs.readFileSync(path.join(elsewhere, '0004-workloads.k8s.yaml'), 'utf8')).toContain('name: elsewhere');
    expect(checkManifests(loadManifests([elsewhere]))).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining('namespace created-elsewhere is not in the input') })]);
  });
});

describe('synth prints the warnings of check and writes the output', () => {
  const PCA = { region: 'eu-west-1', certificateAuthorityArn: 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772' };

  const downstreamStaticEntry = (mesh: SpireIstioMesh) => new ClusterStaticEntry(mesh.identities, 'Nested', {
    server: mesh.server,
    spiffeId: 'spiffe://example.org/spire/nested',
    parentId: 'spiffe://example.org/spire/agent/k8s_psat/demo/node-1',
    selectors: ['k8s:ns:spire-nested'],
    downstream: true,
  });

  /** What a synth of a mesh whose server's CA AWS Private CA issues, with a downstream registration, writes to stderr. */
  function stderrOfDownstreamSynth(caSigningTemplate?: AwsPcaCaTemplate, addDownstream: (mesh: SpireIstioMesh) => void = downstreamStaticEntry): string {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { written.push(String(chunk)); return true; });
    const out = path.join(scratchDir(), 'out');
    try {
      synthMesh(out, { server: { upstreamAuthority: UpstreamAuthority.awsPca({ ...PCA, caSigningTemplate }) } }, addDownstream);
    } finally {
      spy.mockRestore();
    }
    expect(fs.readFileSync(path.join(out, '0002-identities.k8s.yaml'), 'utf8')).toContain('downstream: true');
    return written.join('');
  }

  test('AWS Private CA\'s default template under a downstream entry is a warning naming the server and the fix', () => {
    expect(stderrOfDownstreamSynth().split('\n')).toEqual([
      'Wiring check: 1 warning(s) of `cdk8s-spire-istio check`; the output is written:',
      expect.stringMatching(/^ {2}\[spire\/Server\/Config\] 0001-spire\.k8s\.yaml: warning: ConfigMap spire-server\/spire-server: the server's CA is issued by AWS Private CA with the template SubordinateCACertificate_PathLen0\/V1, which allows no CA below it, but ClusterStaticEntry identities-nested is a downstream entry, .* Fix: .*AwsPcaCaTemplate\.subordinate\(1\)/),
      '',
    ]);
  });

  test('a downstream ClusterSpiffeId, e.g. for child servers in the cluster, is warned about too', () => {
    const childServers = (mesh: SpireIstioMesh) => new ClusterSpiffeId(mesh.identities, 'ChildServers', {
      server: mesh.server,
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'spire-child-server' } },
      istioIdentity: false,
      downstream: true,
    });
    expect(stderrOfDownstreamSynth(undefined, childServers)).toMatch(/ClusterSPIFFEID identities-childservers is a downstream entry/);
  });

  test('a template that allows a CA below the server\'s removes the warning', () => {
    expect(stderrOfDownstreamSynth(AwsPcaCaTemplate.subordinate(1))).toBe('');
  });
});
