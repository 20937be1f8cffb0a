import * as fs from 'fs';
import * as path from 'path';
import { Chart, YamlOutputType } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { loadManifests } from '../lib/check/manifests';
import { GitOpsOrdering, SYNC_WAVE_ANNOTATION } from '../lib/charts/gitops-ordering';
import { SpireIstioMesh } from '../lib/charts/spire-istio-mesh';
import { IngressHttpRoute } from '../lib/constructs/ingress-http-route';
import { IstioIngressGateway } from '../lib/constructs/istio-ingress-gateway';
import { SpireEnabledWorkload } from '../lib/constructs/spire-enabled-workload';
import { SpiffeAuthorizationPolicy } from '../lib/constructs/spiffe-authorization-policy';
import { StrictMtls } from '../lib/constructs/strict-mtls';
import { Caller } from '../lib/mesh/caller';
import { MeshNamespace } from '../lib/constructs/mesh-namespace';
import { SpireIstioApp } from '../lib/constructs/spire-istio-app';
import { scratchDir } from './support/files';
import { testApp } from './support/stack';

function synthMesh(gitOpsOrdering?: GitOpsOrdering) {
  const app = testApp();
  const mesh = new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'demo', gitOpsOrdering });
  const shop = MeshNamespace.create(mesh.workloads, 'Shop', { name: 'shop' });
  // A workload of the user's, added to the workloads stage after the mesh was built.
  const cart = new SpireEnabledWorkload(mesh.workloads, 'Cart', {
    profile: mesh.profile, identity: mesh.meshIdentity, namespace: shop, name: 'cart', image: 'registry.example/cart:1.0.0', port: 8080,
  });
  const ingress = MeshNamespace.create(mesh.workloads, 'Ingress', { name: 'ingress' });
  const gateway = new IstioIngressGateway(mesh.workloads, 'Gateway', { profile: mesh.profile, identity: mesh.meshIdentity, namespace: ingress, name: 'edge' });
  new IngressHttpRoute(mesh.workloads, 'CartRoute', { gateway, backend: cart, hosts: ['cart.example.org'] });
  const mtls = new StrictMtls(mesh.workloads, 'ShopMtls', { profile: mesh.profile, namespace: shop });
  new SpiffeAuthorizationPolicy(mesh.workloads, 'CartPolicy', { workload: cart, allowFrom: [Caller.ingressGateway(gateway)], mtls });
  const own = new Chart(app, 'own');
  own.addDependency(mesh.workloads);
  new kplus.ConfigMap(own, 'Settings', { metadata: { name: 'settings', namespace: 'shop' } });
  app.synth();
  return loadManifests([app.outdir]).map(({ file, doc }) => ({ file: path.basename(file), doc }));
}

const withWaves = synthMesh(GitOpsOrdering.ARGO_CD_SYNC_WAVES);
const waveOf = (doc: any): string | undefined => doc.metadata?.annotations?.[SYNC_WAVE_ANNOTATION];

test('Argo CD sync waves follow the apply order: CRDs, SPIRE, identities, Istio, workloads, then objects without a wave', () => {
  const wavesByFile = new Map<string, Set<string | undefined>>();
  for (const { file, doc } of withWaves) wavesByFile.set(file, new Set([...(wavesByFile.get(file) ?? []), waveOf(doc)]));
  expect([...wavesByFile].map(([file, waves]) => [file, [...waves]])).toEqual([
    ['0000-crds.k8s.yaml', ['-5']],
    ['0001-spire.k8s.yaml', ['-4']],
    ['0002-identities.k8s.yaml', ['-3']],
    ['0003-istio-profile.k8s.yaml', ['-2']],
    ['0004-workloads.k8s.yaml', ['-1']],
    ['0005-own.k8s.yaml', [undefined]],
  ]);
  const cart = withWaves.find(({ doc }) => doc.kind === 'Deployment' && doc.metadata?.name === 'cart');
  expect(waveOf(cart?.doc)).toBe('-1');
});

test('custom resources skip Argo CD\'s dry run, as their CRDs come in an earlier wave', () => {
  const skipping = withWaves.filter(({ doc }) => doc.metadata?.annotations?.['argocd.argoproj.io/sync-options'] === 'SkipDryRunOnMissingResource=true');
  expect(skipping.map(({ doc }) => doc.kind).sort()).toEqual(['AuthorizationPolicy', 'ClusterSPIFFEID', 'Gateway', 'IstioOperator', 'PeerAuthentication', 'VirtualService']);
});

test('without the option no object carries an Argo CD annotation', () => {
  const objects = synthMesh();
  expect(objects.filter(({ doc }) => Object.keys(doc.metadata?.annotations ?? {}).some((key) => key.startsWith('argocd.argoproj.io/')))).toEqual([]);
});

test('a folder per chart gives Flux one directory per stage for its Kustomizations', () => {
  const outdir = path.join(scratchDir(), 'out');
  const app = new SpireIstioApp({ outdir, yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE, wiringReport: false });
  new SpireIstioMesh(app, 'Mesh', { trustDomain: 'example.org', clusterName: 'demo' });
  app.synth();
  expect(fs.readdirSync(outdir).sort()).toEqual(['0000-crds', '0001-spire', '0002-identities', '0003-istio-profile', '0004-workloads', 'helm']);
  expect(loadManifests([path.join(outdir, '0002-identities')]).map(({ doc }) => doc.kind)).toEqual(['ClusterSPIFFEID']);
});
