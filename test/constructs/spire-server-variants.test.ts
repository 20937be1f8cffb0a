import { ApiObject } from 'cdk8s';
import { BundleEndpointProfile } from '../../lib/config/federation-config';
import { KeyManager } from '../../lib/config/key-manager';
import { Metrics } from '../../lib/config/metrics';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { UpstreamAuthority, VaultAuth } from '../../lib/config/upstream-authority';
import { ServiceType } from '../../lib/kube/service-type';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

// Every object a server variant renders, in output order, so that reshaping the construct shows
// any change in what it writes. The last variants combine parts whose mounts, variables and
// objects interleave, which pins their order.
const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
const vault = UpstreamAuthority.vault({
  vaultAddr: 'https://vault.example.com:8200/',
  caCertSecret: { name: 'vault-ca', key: 'ca.crt' },
  auth: VaultAuth.token({ name: 'vault-token', key: 'token' }),
});
const ACME = {
  url: 'https://spire-bundle.example.org',
  serviceType: ServiceType.LOAD_BALANCER,
  servicePort: 443,
  profile: BundleEndpointProfile.httpsWebAcme({ domainName: 'spire-bundle.example.org', email: 'ops@example.org', tosAccepted: true }),
};

const VARIANTS: Array<[string, StackOverrides['server']]> = [
  ['ACME bundle endpoint', { bundleEndpoint: ACME }],
  ['Vault upstream authority', { upstreamAuthority: vault }],
  ['3 replicas on PostgreSQL', { replicas: 3, datastore: postgres }],
  ['AWS KMS key manager with a key policy', {
    replicas: 2, datastore: postgres, keyManager: KeyManager.awsKms({ region: 'us-east-2', keyPolicy: '{"Version":"2012-10-17"}' }),
  }],
  ['Azure Key Vault key manager', { keyManager: KeyManager.azureKeyVault({ keyVaultUri: 'https://spire.vault.azure.net/' }) }],
  ['cert-manager upstream authority with 2 replicas', {
    replicas: 2, datastore: postgres, keyManager: KeyManager.memory(), upstreamAuthority: UpstreamAuthority.certManager({ issuerName: 'corp', namespace: 'pki' }),
  }],
  ['serving certificate, PostgreSQL, memory keys, Vault and no metrics', {
    bundleEndpoint: { url: 'https://bundle.example.org:8443', serviceType: ServiceType.NODE_PORT, profile: BundleEndpointProfile.httpsWebServingCert({ secretName: 'bundle-tls' }) },
    datastore: postgres, keyManager: KeyManager.memory(), upstreamAuthority: vault, metrics: Metrics.disabled(),
  }],
  ['nested SPIRE upstream', { upstreamAuthority: UpstreamAuthority.spire({ serverAddress: 'root.example.org', csiDriverName: 'csi.root.spiffe.io' }) }],
];

describe('SpireServer variants render as before', () => {
  test.each(VARIANTS)('%s', (_name, server) => {
    const stack = buildStack({ server });
    expect(synthErrors(stack.app)).toEqual([]);
    expect(stack.server.node.findAll().filter(ApiObject.isApiObject).map((apiObject) => apiObject.toJson())).toMatchSnapshot();
  });

  test('a server wrong in every part reports each problem, in order', () => {
    const stack = buildStack({
      server: {
        trustDomain: 'Example.org', className: 'Bad_Class', replicas: 2, keyManager: KeyManager.awsKms({ region: 'US East' }),
        upstreamAuthority: UpstreamAuthority.certManager({ issuerName: '', namespace: 'pki' }),
        controllerManagerResources: { limits: { memory: '256 Mi' } }, resources: { requests: { cpu: '0.5' } }, caSubject: {},
        bundleEndpoint: { ...ACME, servicePort: 8443 }, controllerManagerImage: 'cm', ignoreNamespaces: ['('],
      },
    });
    expect(synthErrors(stack.app)).toMatchSnapshot();
  });
});
