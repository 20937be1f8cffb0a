// One SPIRE server per UpstreamAuthority variant, each with its agent in a chart and namespaces
// of its own: conformance/scenarios/upstream.sh validates every server.conf and runs the disk one.
// The awssecret server also carries every further node attestor and bundle publisher, so that
// their blocks pass `spire-server validate` too (x509pop in spiffe mode: the external_pki mode
// reads its CA bundle already when validated).
import { App, Chart, Duration } from 'cdk8s';
import { BundlePublisher, PublishedBundleFormat } from '../../lib/config/bundle-publisher';
import { NodeAttestor } from '../../lib/config/node-attestor';
import { AwsPcaCaTemplate, AwsPcaSigningAlgorithm, UpstreamAuthority, VaultAuth } from '../../lib/config/upstream-authority';
import { SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireServer } from '../../lib/constructs/spire-server';
import { SpireServerOptions } from '../../lib/constructs/spire-server/options';

const VARIANTS: Record<string, UpstreamAuthority> = {
  'disk': UpstreamAuthority.disk({ secretName: 'upstream-ca' }),
  'disk-chain': UpstreamAuthority.disk({ secretName: 'upstream-ca', bundleFileKey: 'ca.crt' }),
  'cert-manager': UpstreamAuthority.certManager({ issuerName: 'corporate-ca', issuerKind: 'ClusterIssuer', namespace: 'spire-upstream' }),
  'vault-kubernetes': UpstreamAuthority.vault({
    vaultAddr: 'https://vault.example.com:8200/',
    pkiMountPoint: 'pki-spire',
    caCertSecret: { name: 'vault-ca', key: 'ca.crt' },
    auth: VaultAuth.kubernetes({ role: 'spire-server', tokenAudience: 'vault.example.com', tokenExpiration: Duration.hours(1) }),
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
    endpoint: 'https://vpce-0123456789abcdef0-abcdefgh.acm-pca.eu-west-1.vpce.amazonaws.com',
    supplementalBundleSecret: { name: 'next-root', key: 'root.pem' },
  }),
  'awssecret': UpstreamAuthority.awsSecret({
    region: 'eu-west-1',
    certFileArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spire/ca-cert',
    keyFileArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spire/ca-key',
    bundleFileArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:spire/roots',
    assumeRoleArn: 'arn:aws:iam::123456789012:role/spire-server',
  }),
  'ejbca': UpstreamAuthority.ejbca({
    hostname: 'ejbca.example.com:8443',
    caName: 'IssuingCA',
    endEntityProfileName: 'SpireServerCA',
    certificateProfileName: 'SubCA',
    clientCertSecretName: 'ejbca-client',
    caCertSecret: { name: 'ejbca-ca', key: 'ca.crt' },
    endEntityName: 'cn',
    accountBindingId: 'spire',
  }),
  'spire': UpstreamAuthority.spire({ serverAddress: 'spire-server.spire-root.svc', csiDriverName: 'csi.root.spiffe.io' }),
};

const OTHER_PLUGINS: Record<string, SpireServerOptions> = {
  awssecret: {
    nodeAttestors: [
      NodeAttestor.joinToken(),
      NodeAttestor.httpChallenge({ allowedDnsPatterns: ['^vm[0-9]+\\.example\\.org$'], requiredPort: 80, allowNonRootPorts: false, tofu: false }),
      NodeAttestor.awsIid({
        assumeRole: 'spire-describe',
        verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'spire-org', managementAccountRegion: 'us-east-1', orgAccountMapTtl: '5m' },
      }),
      NodeAttestor.gcpIit({ projectIdAllowList: ['corp-vms'], instanceMetadata: { allowedLabelKeys: ['role'], allowedMetadataKeys: ['team'], maxMetadataValueSize: 256 } }),
      NodeAttestor.x509Pop({ spiffePrefix: '/vm-exchange/', maxIntermediates: 2, maxRsaKeySize: 4096 }),
    ],
    bundlePublishers: [
      BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'corp-trust', objectKey: 'example.org/bundle.json', format: PublishedBundleFormat.SPIFFE, endpoint: 'https://minio.example.org:9000' }),
      BundlePublisher.gcpCloudStorage({ bucketName: 'corp-trust', objectName: 'example.org/jwks.json', format: PublishedBundleFormat.JWKS }),
      BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'eu-west-1', trustAnchorId: '0f8b6e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b' }),
    ],
  },
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
    ...OTHER_PLUGINS[variant],
  });
  new SpireAgentDaemonSet(chart, 'Agent', { server, namespace: `spire-agent-${variant}`, name: 'spire-agent' });
}
app.synth();
