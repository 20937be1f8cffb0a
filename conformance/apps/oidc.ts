// A mesh whose server signs JWT-SVIDs with an issuer, and two OIDC Discovery Providers serving its
// keys, for conformance/scenarios/oidc.sh: one reads them from the Workload API and sets the keys'
// use, the other reads a bundle from a ConfigMap. The issuer has a path, so the providers' path
// prefix is exercised too. The agent runs with an SDS name, a cache size and an availability
// target of its own, which the server's SVID and CA lifetimes allow, JSON logs and an experimental
// sync interval; the first provider logs JSON. (Rebootstrapping is left out: the scenario's agent
// bootstraps insecurely, which SPIRE refuses to combine with it.)
import { LogFormat, OidcKeySource, SpireIstioApp, SpireIstioMesh, SpireOidcDiscoveryProvider } from '../../lib';

const JWT_ISSUER = 'https://oidc.conformance.test/tenant-a';

const app = new SpireIstioApp({ outdir: process.argv[2], wiringReport: false });
const mesh = new SpireIstioMesh(app, 'Mesh', {
  trustDomain: 'conformance.test',
  clusterName: 'conformance-cluster',
  server: { jwtIssuer: JWT_ISSUER, jwtSvidTtl: '10m', x509SvidTtl: '36h', caTtl: '216h' },
  agent: {
    sds: { defaultAllBundlesName: 'spire-all' }, x509SvidCacheMaxSize: 2000, availabilityTarget: '24h',
    logFormat: LogFormat.JSON, experimental: { syncInterval: '5s' },
  },
});
new SpireOidcDiscoveryProvider(mesh.identities, 'Oidc', {
  server: mesh.server,
  csiDriver: mesh.csiDriver,
  domains: ['oidc.conformance.test'],
  name: 'oidc-discovery',
  setKeyUse: true,
  logFormat: LogFormat.JSON,
});
new SpireOidcDiscoveryProvider(mesh.identities, 'OidcFromBundle', {
  server: mesh.server,
  domains: ['oidc.conformance.test'],
  name: 'oidc-from-bundle',
  keySource: OidcKeySource.bundleConfigMap({ name: 'spire-bundle', key: 'bundle.spiffe' }),
});
app.synth();
