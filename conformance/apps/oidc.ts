// A mesh whose server signs JWT-SVIDs with an issuer, and the OIDC Discovery Provider serving its
// keys, for conformance/scenarios/oidc.sh. The issuer has a path, so the provider's path prefix
// is exercised too.
import { SpireIstioApp, SpireIstioMesh, SpireOidcDiscoveryProvider } from '../../lib';

const JWT_ISSUER = 'https://oidc.conformance.test/tenant-a';

const app = new SpireIstioApp({ outdir: process.argv[2], wiringReport: false });
const mesh = new SpireIstioMesh(app, 'Mesh', {
  trustDomain: 'conformance.test',
  clusterName: 'conformance-cluster',
  server: { jwtIssuer: JWT_ISSUER, jwtSvidTtl: '10m' },
});
new SpireOidcDiscoveryProvider(mesh.identities, 'Oidc', {
  server: mesh.server,
  csiDriver: mesh.csiDriver,
  domains: ['oidc.conformance.test'],
  name: 'oidc-discovery',
});
app.synth();
