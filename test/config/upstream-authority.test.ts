import { renderServerConfig } from '../../lib/config/server-config';
import { renderJson } from '../../lib/config/spire-config';
import { AwsPcaCaTemplate, AwsPcaSigningAlgorithm, UpstreamAuthority, VaultAuth } from '../../lib/config/upstream-authority';
import { formatProblem, Problem } from '../../lib/validation/rules';
import { SERVER_CONFIG_MODEL as model } from '../support/server-config-model';

const problems = (upstream: UpstreamAuthority) => upstream._model().checks
  .filter((check): check is [string, Problem] => check[1] !== undefined)
  .map(([what, problem]) => formatProblem(what, problem));


/** The plugin block as it lands in server.conf: undefined values are not written. */
const rendered = (upstream: UpstreamAuthority) => JSON.parse(renderJson(renderServerConfig({ ...model, upstreamAuthority: upstream._model() }))).plugins.UpstreamAuthority;

const vaultAddr = 'https://vault.example.com:8200/';
const caArn = 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772';

describe('UpstreamAuthority rendering', () => {
  test('no upstream authority: no UpstreamAuthority block, the CA is self-signed', () => {
    expect(renderServerConfig(model)).not.toHaveProperty('plugins.UpstreamAuthority');
  });

  test('disk reads the CA files from the Secret volume, with the bundle only when joining a PKI', () => {
    expect(rendered(UpstreamAuthority.disk({ secretName: 'ca' }))).toEqual([{
      disk: { plugin_data: { cert_file_path: '/run/spire/upstream/ca/tls.crt', key_file_path: '/run/spire/upstream/ca/tls.key' } },
    }]);
    const chained = UpstreamAuthority.disk({ secretName: 'ca', certFileKey: 'chain.pem', keyFileKey: 'key.pem', bundleFileKey: 'roots.pem' });
    expect(rendered(chained)[0].disk.plugin_data).toEqual({
      cert_file_path: '/run/spire/upstream/ca/chain.pem',
      key_file_path: '/run/spire/upstream/ca/key.pem',
      bundle_file_path: '/run/spire/upstream/ca/roots.pem',
    });
    expect(chained._model().secretVolumes).toEqual([{ secretName: 'ca', mountPath: '/run/spire/upstream/ca', keys: ['chain.pem', 'key.pem', 'roots.pem'] }]);
  });

  test('cert-manager names issuer, kind, group and the namespace the server gets its Role in', () => {
    const upstream = UpstreamAuthority.certManager({ issuerName: 'corp', namespace: 'pki' });
    expect(rendered(upstream)).toEqual([{
      'cert-manager': { plugin_data: { namespace: 'pki', issuer_name: 'corp', issuer_kind: 'Issuer', issuer_group: 'cert-manager.io' } },
    }]);
    expect(upstream._model().certificateRequestNamespace).toBe('pki');
  });

  test('vault token and AppRole secret ID reach SPIRE as the variables it reads, never in server.conf', () => {
    const token = UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.token({ name: 'vault', key: 'token' }) });
    expect(rendered(token)[0].vault.plugin_data).toEqual({ vault_addr: vaultAddr, token_auth: {} });
    expect(token._model().secretEnv).toEqual([{ name: 'VAULT_TOKEN', secret: { name: 'vault', key: 'token' } }]);

    const appRole = UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.appRole({ roleId: 'spire', secretIdSecret: { name: 'approle', key: 'id' } }) });
    expect(rendered(appRole)[0].vault.plugin_data).toEqual({ vault_addr: vaultAddr, approle_auth: { approle_id: 'spire' } });
    expect(appRole._model().secretEnv).toEqual([{ name: 'VAULT_APPROLE_SECRET_ID', secret: { name: 'approle', key: 'id' } }]);
  });

  test('vault kubernetes auth logs in with the server\'s service account token; CA and client certificate are files', () => {
    const k8s = UpstreamAuthority.vault({
      vaultAddr, pkiMountPoint: 'pki-spire', vaultNamespace: 'platform', caCertSecret: { name: 'vault-ca', key: 'ca.crt' },
      auth: VaultAuth.kubernetes({ role: 'spire', mountPoint: 'k8s-prod' }),
    });
    expect(rendered(k8s)[0].vault.plugin_data).toEqual({
      vault_addr: vaultAddr,
      namespace: 'platform',
      pki_mount_point: 'pki-spire',
      ca_cert_path: '/run/spire/upstream/vault-ca/ca.crt',
      k8s_auth: { k8s_auth_mount_point: 'k8s-prod', k8s_auth_role_name: 'spire', token_path: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    });
    expect(k8s._model().secretVolumes).toEqual([{ secretName: 'vault-ca', mountPath: '/run/spire/upstream/vault-ca', keys: ['ca.crt'] }]);

    const cert = UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.certificate({ secretName: 'vault-client' }) });
    expect(rendered(cert)[0].vault.plugin_data.cert_auth).toEqual({
      client_cert_path: '/run/spire/upstream/vault-client/tls.crt',
      client_key_path: '/run/spire/upstream/vault-client/tls.key',
    });
    expect(cert._model().secretVolumes).toEqual([{ secretName: 'vault-client', mountPath: '/run/spire/upstream/vault-client', keys: ['tls.crt', 'tls.key'] }]);
  });

  test('aws_pca writes only what is set', () => {
    expect(rendered(UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn }))[0].aws_pca.plugin_data)
      .toEqual({ region: 'eu-west-1', certificate_authority_arn: caArn });
    expect(rendered(UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, signingAlgorithm: AwsPcaSigningAlgorithm.SHA384_WITH_ECDSA }))[0]
      .aws_pca.plugin_data.signing_algorithm).toBe('SHA384WITHECDSA');
  });

  test('aws_pca names the template by its path length, in the private CA\'s partition', () => {
    const template = (certificateAuthorityArn: string, caSigningTemplate: AwsPcaCaTemplate) => rendered(UpstreamAuthority.awsPca({
      region: 'eu-west-1', certificateAuthorityArn, caSigningTemplate,
    }))[0].aws_pca.plugin_data.ca_signing_template_arn;
    expect(template(caArn, AwsPcaCaTemplate.subordinate(1))).toBe('arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen1/V1');
    expect(template(caArn.replace('arn:aws:', 'arn:aws-cn:'), AwsPcaCaTemplate.subordinate(2))).toBe('arn:aws-cn:acm-pca:::template/SubordinateCACertificate_PathLen2/V1');
    const passthrough = 'arn:aws:acm-pca:::template/BlankSubordinateCACertificate_PathLen1_APIPassthrough/V1';
    expect(template(caArn, AwsPcaCaTemplate.fromArn(passthrough))).toBe(passthrough);
    expect(AwsPcaCaTemplate.fromArn(passthrough).pathLength).toBe(1);
    expect(AwsPcaCaTemplate.fromArn('arn:aws:acm-pca:::template/CustomTemplate/V1').pathLength).toBeUndefined();
  });

  test('nested spire reads the upstream agent\'s socket from the CSI volume', () => {
    const upstream = UpstreamAuthority.spire({ serverAddress: 'spire-server.root.svc', csiDriverName: 'csi.root.spiffe.io' });
    expect(rendered(upstream)[0].spire.plugin_data).toEqual({
      server_address: 'spire-server.root.svc', server_port: '8081', workload_api_socket: '/run/spire/upstream-agent/socket',
    });
    expect(upstream._model().workloadApiCsiDriver).toBe('csi.root.spiffe.io');
  });
});

describe('UpstreamAuthority checks', () => {
  test.each([
    ['disk', UpstreamAuthority.disk({ secretName: 'ca' })],
    ['cert-manager', UpstreamAuthority.certManager({ issuerName: 'corp', issuerKind: 'ClusterIssuer', namespace: 'pki' })],
    ['external issuer', UpstreamAuthority.certManager({ issuerName: 'corp', issuerKind: 'AWSPCAClusterIssuer', issuerGroup: 'awspca.cert-manager.io', namespace: 'pki' })],
    ['vault', UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.kubernetes({ role: 'spire' }) })],
    ['aws_pca', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, assumeRoleArn: 'arn:aws:iam::123456789012:role/spire', caSigningTemplate: AwsPcaCaTemplate.fromArn('arn:aws:acm-pca:::template/BlankSubordinateCACertificate_PathLen1_APIPassthrough/V1') })],
    ['aws_pca in a sovereign-cloud region', UpstreamAuthority.awsPca({ region: 'eusc-de-east-1', certificateAuthorityArn: 'arn:aws-eusc:acm-pca:eusc-de-east-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772' })],
    ['spire', UpstreamAuthority.spire({ serverAddress: '10.0.0.1', serverPort: 443, csiDriverName: 'csi.root.spiffe.io' })],
  ])('%s with consistent options passes', (_, upstream) => {
    expect(problems(upstream)).toEqual([]);
  });

  test.each([
    ['a cert-manager upstream without an issuer', UpstreamAuthority.certManager({ issuerName: '', namespace: 'pki' }), 'issuerName "": the cert-manager Issuer or ClusterIssuer that signs the server\'s CA must be given'],
    ['a cert-manager.io issuer of a kind cert-manager does not have', UpstreamAuthority.certManager({ issuerName: 'corp', issuerKind: 'Certificate', namespace: 'pki' }), 'issuerKind "Certificate": cert-manager\'s own issuers'],
    ['vault with an address that is no URL', UpstreamAuthority.vault({ vaultAddr: 'vault:8200', auth: VaultAuth.kubernetes({ role: 'spire' }) }), 'vaultAddr "vault:8200": the Vault address is an http(s) URL'],
    ['vault kubernetes auth without a role', UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.kubernetes({ role: '' }) }), 'auth.role "": the Vault role'],
    ['disk with the key and the certificate in one Secret key', UpstreamAuthority.disk({ secretName: 'ca', keyFileKey: 'tls.crt' }), 'keyFileKey "tls.crt": the private key and the certificates are separate files'],
    ['disk with the bundle being the certificate', UpstreamAuthority.disk({ secretName: 'ca', bundleFileKey: 'tls.crt' }), 'bundleFileKey "tls.crt": the bundle holds the roots'],
    ['aws_pca with a CA in another region', UpstreamAuthority.awsPca({ region: 'us-east-1', certificateAuthorityArn: caArn }), 'certificateAuthorityArn "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772": the private CA is in region eu-west-1, but SPIRE calls region us-east-1. Fix: set region to "eu-west-1"'],
    ['aws_pca with a role ARN that is not one', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, assumeRoleArn: 'spire-role' }), 'assumeRoleArn "spire-role"'],
    ['aws_pca with a path length AWS has no template for', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, caSigningTemplate: AwsPcaCaTemplate.subordinate(4) }), 'caSigningTemplate "4": AWS Private CA has subordinate CA templates for path lengths 0 to 3'],
    ['aws_pca with a template ARN that is not one', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, caSigningTemplate: AwsPcaCaTemplate.fromArn('SubordinateCACertificate_PathLen1/V1') }), 'caSigningTemplate "SubordinateCACertificate_PathLen1/V1": a certificate template ARN looks like'],
    ['nested spire with a URL as address', UpstreamAuthority.spire({ serverAddress: 'https://root:8081', csiDriverName: 'csi.root.spiffe.io' }), 'serverAddress "https://root:8081"'],
    ['nested spire with a socket path instead of a file name', UpstreamAuthority.spire({ serverAddress: 'root', csiDriverName: 'csi.root.spiffe.io', socketFileName: '/run/agent.sock' }), 'socketFileName "/run/agent.sock": the socket file name is one path segment'],
    ['nested spire on an invalid port', UpstreamAuthority.spire({ serverAddress: 'root', serverPort: 0, csiDriverName: 'csi.root.spiffe.io' }), 'serverPort "0"'],
  ])('%s is rejected', (_, upstream, message) => {
    expect(problems(upstream)).toEqual([expect.stringContaining(message)]);
  });

  test('aws_pca with a region that is not one is rejected, and the CA is then in another region', () => {
    expect(problems(UpstreamAuthority.awsPca({ region: 'eu west', certificateAuthorityArn: caArn }))).toEqual([
      expect.stringContaining('region "eu west": an AWS region is a name such as "us-east-2". Fix: use the region of the private CA'),
      expect.stringContaining('the private CA is in region eu-west-1, but SPIRE calls region eu west'),
    ]);
  });
});
