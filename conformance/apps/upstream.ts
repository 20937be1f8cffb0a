// One SPIRE server per UpstreamAuthority variant, each with its agent in a chart and namespaces
// of its own: conformance/scenarios/upstream.sh validates every server.conf and runs the disk one.
import { App, Chart } from 'cdk8s';
import { AwsPcaCaTemplate, AwsPcaSigningAlgorithm, UpstreamAuthority, VaultAuth } from '../../lib/config/upstream-authority';
import { SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireServer } from '../../lib/constructs/spire-server';

const VARIANTS: Record<string, UpstreamAuthority> = {
  'disk': UpstreamAuthority.disk({ secretName: 'upstream-ca' }),
  'disk-chain': UpstreamAuthority.disk({ secretName: 'upstream-ca', bundleFileKey: 'ca.crt' }),
  'cert-manager': UpstreamAuthority.certManager({ issuerName: 'corporate-ca', issuerKind: 'ClusterIssuer', namespace: 'spire-upstream' }),
  'vault-kubernetes': UpstreamAuthority.vault({
    vaultAddr: 'https://vault.example.com:8200/',
    pkiMountPoint: 'pki-spire',
    caCertSecret: { name: 'vault-ca', key: 'ca.crt' },
    auth: VaultAuth.kubernetes({ role: 'spire-server' }),
  }),
  'vault-token': UpstreamAuthority.vault({ vaultAddr: 'https://vault.example.com:8200/', auth: VaultAuth.token({ name: 'vault-token', key: 'token' }) }),
  'vault-approle': UpstreamAuthority.vault({
    vaultAddr: 'https://vault.example.com:8200/',
    auth: VaultAuth.appRole({ roleId: 'spire-server', secretIdSecret: { name: 'vault-approle', key: 'secret-id' } }),
  }),
  'vault-certificate': UpstreamAuthority.vault({
    vaultAddr: 'https://vault.example.com:8200/',
    vaultNamespace: 'platform',
    auth: VaultAuth.certificate({ secretName: 'vault-client', role: 'spire-server' }),
  }),
  'aws-pca': UpstreamAuthority.awsPca({
    region: 'eu-west-1',
    certificateAuthorityArn: 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772',
    caSigningTemplate: AwsPcaCaTemplate.subordinate(1),
    signingAlgorithm: AwsPcaSigningAlgorithm.SHA256_WITH_ECDSA,
    assumeRoleArn: 'arn:aws:iam::123456789012:role/spire-server',
  }),
  'spire': UpstreamAuthority.spire({ serverAddress: 'spire-server.spire-root.svc', csiDriverName: 'csi.root.spiffe.io' }),
};

const app = new App({ outdir: process.argv[2] });
for (const [variant, upstreamAuthority] of Object.entries(VARIANTS)) {
  const chart = new Chart(app, `upstream-${variant}`, { disableResourceNameHashes: true });
  const server = new SpireServer(chart, 'Server', {
    trustDomain: 'example.org',
    clusterName: 'conformance',
    namespace: `spire-${variant}`,
    name: 'spire-server',
    upstreamAuthority,
  });
  new SpireAgentDaemonSet(chart, 'Agent', { server, namespace: `spire-agent-${variant}`, name: 'spire-agent' });
}
app.synth();
