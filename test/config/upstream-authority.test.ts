import { Duration } from 'cdk8s';
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

  test('vault kubernetes auth logs in with a token projected for Vault; CA and client certificate are files', () => {
    const k8s = UpstreamAuthority.vault({
      vaultAddr, pkiMountPoint: 'pki-spire', vaultNamespace: 'platform', caCertSecret: { name: 'vault-ca', key: 'ca.crt' },
      auth: VaultAuth.kubernetes({ role: 'spire', mountPoint: 'k8s-prod' }),
    });
    expect(rendered(k8s)[0].vault.plugin_data).toEqual({
      vault_addr: vaultAddr,
      namespace: 'platform',
      pki_mount_point: 'pki-spire',
      ca_cert_path: '/run/spire/upstream/vault-ca/ca.crt',
      k8s_auth: { k8s_auth_mount_point: 'k8s-prod', k8s_auth_role_name: 'spire', token_path: '/run/spire/upstream/vault-token/token' },
    });
    expect(k8s._model().secretVolumes).toEqual([{ secretName: 'vault-ca', mountPath: '/run/spire/upstream/vault-ca', keys: ['ca.crt'] }]);
    expect(k8s._model().projectedToken).toEqual({ audience: 'vault', expirationSeconds: 600, mountPath: '/run/spire/upstream/vault-token', file: 'token' });
    const ownAudience = VaultAuth.kubernetes({ role: 'spire', tokenAudience: 'https://vault.example.com', tokenExpiration: Duration.hours(1) });
    expect(UpstreamAuthority.vault({ vaultAddr, auth: ownAudience })._model().projectedToken).toMatchObject({ audience: 'https://vault.example.com', expirationSeconds: 3600 });

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
    const withExtras = UpstreamAuthority.awsPca({
      region: 'eu-west-1', certificateAuthorityArn: caArn, endpoint: 'https://vpce-1.acm-pca.eu-west-1.vpce.amazonaws.com', supplementalBundleSecret: { name: 'next-root', key: 'root.pem' },
    });
    expect(rendered(withExtras)[0].aws_pca.plugin_data).toEqual({
      region: 'eu-west-1', endpoint: 'https://vpce-1.acm-pca.eu-west-1.vpce.amazonaws.com', certificate_authority_arn: caArn,
      supplemental_bundle_path: '/run/spire/upstream/supplemental-bundle/root.pem',
    });
    expect(withExtras._model().secretVolumes).toEqual([{ secretName: 'next-root', mountPath: '/run/spire/upstream/supplemental-bundle', keys: ['root.pem'] }]);
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

  test('ejbca reads its client certificate and EJBCA\'s CA from mounted Secrets', () => {
    const upstream = UpstreamAuthority.ejbca({
      hostname: 'ejbca.example.com:8443', caName: 'Issuing', endEntityProfileName: 'SpireEE', certificateProfileName: 'SubCA',
      clientCertSecretName: 'ejbca-client', caCertSecret: { name: 'ejbca-ca', key: 'ca.crt' }, endEntityName: 'cn', accountBindingId: 'spire',
    });
    expect(rendered(upstream)[0].ejbca.plugin_data).toEqual({
      hostname: 'ejbca.example.com:8443',
      ca_cert_path: '/run/spire/upstream/ejbca-ca/ca.crt',
      client_cert_path: '/run/spire/upstream/ejbca-client/tls.crt',
      client_cert_key_path: '/run/spire/upstream/ejbca-client/tls.key',
      ca_name: 'Issuing',
      end_entity_profile_name: 'SpireEE',
      certificate_profile_name: 'SubCA',
      end_entity_name: 'cn',
      account_binding_id: 'spire',
    });
    expect(upstream._model().secretVolumes).toEqual([
      { secretName: 'ejbca-client', mountPath: '/run/spire/upstream/ejbca-client', keys: ['tls.crt', 'tls.key'] },
      { secretName: 'ejbca-ca', mountPath: '/run/spire/upstream/ejbca-ca', keys: ['ca.crt'] },
    ]);
  });

  test('awssecret names the secrets, the bundle only when joining a PKI', () => {
    const upstream = UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'spire/ca-cert', keyFileArn: 'spire/ca-key' });
    expect(rendered(upstream)[0].awssecret.plugin_data).toEqual({ region: 'eu-west-1', cert_file_arn: 'spire/ca-cert', key_file_arn: 'spire/ca-key' });
    const chained = UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'c', keyFileArn: 'k', bundleFileArn: 'b', assumeRoleArn: 'arn:aws:iam::123456789012:role/spire' });
    expect(rendered(chained)[0].awssecret.plugin_data).toMatchObject({ bundle_file_arn: 'b', assume_role_arn: 'arn:aws:iam::123456789012:role/spire' });
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
    ['ejbca', UpstreamAuthority.ejbca({ hostname: 'ejbca.example.com', caName: 'ca', endEntityProfileName: 'ee', certificateProfileName: 'cp', clientCertSecretName: 'client' })],
    ['awssecret', UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'c', keyFileArn: 'k' })],
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
    ['vault kubernetes auth with a token shorter than the API server issues', UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.kubernetes({ role: 'spire', tokenExpiration: Duration.minutes(5) }) }), 'auth.tokenExpiration "300s": the API server issues projected tokens for whole seconds from 10 minutes'],
    ['vault kubernetes auth with an empty token audience', UpstreamAuthority.vault({ vaultAddr, auth: VaultAuth.kubernetes({ role: 'spire', tokenAudience: '' }) }), 'auth.tokenAudience "": the audience the Vault role expects must be given'],
    ['aws_pca with an endpoint without scheme', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, endpoint: 'vpce-1.acm-pca.eu-west-1.vpce.amazonaws.com' }), 'endpoint "vpce-1.acm-pca.eu-west-1.vpce.amazonaws.com": the AWS Private CA endpoint is an http(s) URL'],
    ['aws_pca with a supplemental bundle key that is no file name', UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, supplementalBundleSecret: { name: 'roots', key: '../roots' } }), 'supplementalBundleSecret.key "../roots"'],
    ['ejbca with a URL as host', UpstreamAuthority.ejbca({ caName: 'ca', endEntityProfileName: 'ee', certificateProfileName: 'cp', clientCertSecretName: 'client', hostname: 'https://ejbca.example.com/ejbca' }), 'hostname "https://ejbca.example.com/ejbca": the EJBCA host is a host name'],
    ['ejbca without a CA name', UpstreamAuthority.ejbca({ caName: '', endEntityProfileName: 'ee', certificateProfileName: 'cp', clientCertSecretName: 'client', hostname: 'ejbca' }), 'caName "": the name of the EJBCA CA must be given'],
    ['ejbca with a client Secret name Kubernetes refuses', UpstreamAuthority.ejbca({ caName: 'ca', endEntityProfileName: 'ee', certificateProfileName: 'cp', clientCertSecretName: 'Client_Cert', hostname: 'ejbca' }), 'clientCertSecretName "Client_Cert"'],
    ['ejbca with a CA key that is no file name', UpstreamAuthority.ejbca({ caName: 'ca', endEntityProfileName: 'ee', certificateProfileName: 'cp', clientCertSecretName: 'client', hostname: 'ejbca', caCertSecret: { name: 'ca', key: 'a/b' } }), 'caCertSecret.key "a/b"'],
    ['awssecret in a region that is no region', UpstreamAuthority.awsSecret({ region: 'Ireland', certFileArn: 'c', keyFileArn: 'k' }), 'region "Ireland"'],
    ['awssecret with the key in the certificate\'s secret', UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'ca', keyFileArn: 'ca' }), 'keyFileArn "ca": the private key and the certificate are separate secrets'],
    ['awssecret without a certificate', UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: '', keyFileArn: 'k' }), 'certFileArn "": the secret holding the CA certificate must be given'],
    ['awssecret with a role ARN that is not one', UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'c', keyFileArn: 'k', assumeRoleArn: 'spire' }), 'assumeRoleArn "spire": an IAM role ARN'],
    ['nested spire on an invalid port', UpstreamAuthority.spire({ serverAddress: 'root', serverPort: 0, csiDriverName: 'csi.root.spiffe.io' }), 'serverPort "0"'],
  ])('%s is rejected', (_, upstream, message) => {
    expect(problems(upstream)).toEqual([expect.stringContaining(message)]);
  });

  test('required options of the new factories are refused at once, naming the factory', () => {
    expect(() => UpstreamAuthority.ejbca({ hostname: 'e', caName: 'c', endEntityProfileName: 'e', certificateProfileName: 'p' } as any)).toThrow('UpstreamAuthority.ejbca: the required prop "clientCertSecretName" is missing');
    expect(() => UpstreamAuthority.awsSecret({ region: 'eu-west-1', certFileArn: 'c' } as any)).toThrow('UpstreamAuthority.awsSecret: the required prop "keyFileArn" is missing');
    expect(() => UpstreamAuthority.awsPca({ region: 'eu-west-1', certificateAuthorityArn: caArn, supplementalBundleSecret: { name: 'r' } as any })).toThrow('UpstreamAuthority.awsPca supplementalBundleSecret: the required prop "key" is missing');
  });

  test('aws_pca with a region that is not one is rejected, and the CA is then in another region', () => {
    expect(problems(UpstreamAuthority.awsPca({ region: 'eu west', certificateAuthorityArn: caArn }))).toEqual([
      expect.stringContaining('region "eu west": an AWS region is a name such as "us-east-2". Fix: use the region of the private CA'),
      expect.stringContaining('the private CA is in region eu-west-1, but SPIRE calls region eu west'),
    ]);
  });
});
