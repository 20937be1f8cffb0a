import { Testing } from 'cdk8s';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { KubeletVerification } from '../../lib/config/agent-config';
import { BundleEndpointProfile, PartnerBundle } from '../../lib/config/federation-config';
import { KeyManager } from '../../lib/config/key-manager';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { AwsPcaCaTemplate, UpstreamAuthority, VaultAuth } from '../../lib/config/upstream-authority';
import { OidcKeySource } from '../../lib/config/oidc-discovery-provider-config';
import { IstioIngressGateway } from '../../lib/constructs/istio-ingress-gateway';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { SpiffeAuthorizationPolicy } from '../../lib/constructs/spiffe-authorization-policy';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { SpireServer } from '../../lib/constructs/spire-server';
import { PodPriority } from '../../lib/kube/pod-settings';
import { WorkloadProbe } from '../../lib/kube/probe';
import { Caller } from '../../lib/mesh/caller';
import { DefaultImages } from '../../lib/spire/images';
import { buildStack } from '../support/stack';

// What plain JavaScript and Python callers can pass, which TypeScript would refuse.
const untyped = (value: unknown): any => value;

describe('required props, checked at the boundary', () => {
  const stack = buildStack();
  const shop = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
  const { profile, identity } = stack;
  const web = new SpireEnabledWorkload(stack.apps, 'Web', { profile, identity, namespace: shop, name: 'web', image: 'registry.example/web:1.0.0' });

  test('a policy without mtls names its path, the prop and what to pass', () => {
    expect(() => new SpiffeAuthorizationPolicy(stack.apps, 'Policy', untyped({ workload: web, allowFrom: [Caller.workload(web)] })))
      .toThrow('apps/Policy: the required prop "mtls" is missing. Fix: pass a StrictMtls that covers the workload\'s namespace');
  });

  test('a namespace given by name where a MeshNamespace belongs is refused before it renders ns/undefined', () => {
    expect(() => Caller.serviceAccount(untyped('shop'), 'frontend'))
      .toThrow('Caller.serviceAccount: the prop "namespace" is the string "shop", not a MeshNamespace. Fix: pass the MeshNamespace of the callers');
  });

  test.each([
    ['a construct without props', () => new SpireServer(Testing.app(), 'Server', untyped(undefined)), 'Server: the required prop "trustDomain" is missing'],
    ['a prop of the wrong type', () => new SpireServer(Testing.app(), 'Server', untyped({ trustDomain: 'example.org', clusterName: 7 })), 'Server: the prop "clusterName" is the number 7, not a string'],
    ['a construct prop given as a plain object', () => new IstioIngressGateway(stack.apps, 'Gateway', untyped({ profile, identity, namespace: { name: 'shop' } })), 'apps/Gateway: the prop "namespace" is a plain object, not a MeshNamespace'],
    ['enable without a profile', () => SpireEnabledWorkload.enable(web, untyped({ identity })), 'SpireEnabledWorkload.enable(apps/Web): the required prop "profile" is missing'],
    ['a namespace declared without saying whether injection is on', () => MeshNamespace.fromName(stack.apps, 'Payments', 'payments', untyped({})), 'apps/Payments: the required prop "istioInjection" is missing'],
    ['a mesh without a trust domain', () => new SpireIstioMesh(Testing.app(), 'Mesh', untyped({ clusterName: 'prod' })), 'Mesh: the required prop "trustDomain" is missing'],
  ])('%s is refused at once', (_case, create, message) => {
    expect(create).toThrow(message);
  });
});

describe('required props of the factories, checked where the options are passed', () => {
  const kubernetes = VaultAuth.kubernetes({ role: 'spire' });
  test.each([
    ['VaultAuth.kubernetes', () => VaultAuth.kubernetes(untyped({ role: null })), 'VaultAuth.kubernetes: the required prop "role" is missing. Fix: pass the Vault role'],
    ['VaultAuth.token', () => VaultAuth.token(untyped(undefined)), 'VaultAuth.token: the required prop "tokenSecret" is missing. Fix: pass a SecretKeyRef, { name, key }'],
    ['VaultAuth.token, a ref without its key', () => VaultAuth.token(untyped({ name: 'vault-token' })), 'VaultAuth.token tokenSecret: the required prop "key" is missing'],
    ['VaultAuth.appRole', () => VaultAuth.appRole(untyped({ roleId: 'spire' })), 'VaultAuth.appRole: the required prop "secretIdSecret" is missing'],
    ['VaultAuth.certificate', () => VaultAuth.certificate(untyped({})), 'VaultAuth.certificate: the required prop "secretName" is missing'],
    ['UpstreamAuthority.disk', () => UpstreamAuthority.disk(untyped(undefined)), 'UpstreamAuthority.disk: the required prop "secretName" is missing'],
    ['UpstreamAuthority.certManager', () => UpstreamAuthority.certManager(untyped({ issuerName: 'corp' })), 'UpstreamAuthority.certManager: the required prop "namespace" is missing'],
    ['UpstreamAuthority.vault', () => UpstreamAuthority.vault(untyped({ vaultAddr: 'https://vault.example:8200/' })), 'UpstreamAuthority.vault: the required prop "auth" is missing. Fix: pass how the server logs in'],
    ['UpstreamAuthority.vault, auth given as options', () => UpstreamAuthority.vault(untyped({ vaultAddr: 'https://vault.example:8200/', auth: { role: 'spire' } })), 'the prop "auth" is a plain object, not a VaultAuth'],
    ['UpstreamAuthority.vault, a CA ref without its name', () => UpstreamAuthority.vault(untyped({ vaultAddr: 'https://vault.example:8200/', auth: kubernetes, caCertSecret: { key: 'ca.crt' } })), 'UpstreamAuthority.vault caCertSecret: the required prop "name" is missing'],
    ['UpstreamAuthority.awsPca', () => UpstreamAuthority.awsPca(untyped({ region: 'eu-west-1' })), 'UpstreamAuthority.awsPca: the required prop "certificateAuthorityArn" is missing'],
    ['UpstreamAuthority.spire', () => UpstreamAuthority.spire(untyped({ serverAddress: 'root' })), 'UpstreamAuthority.spire: the required prop "csiDriverName" is missing'],
    ['KeyManager.awsKms', () => KeyManager.awsKms(untyped({})), 'KeyManager.awsKms: the required prop "region" is missing'],
    ['KeyManager.gcpKms', () => KeyManager.gcpKms(untyped({ keyRing: null })), 'KeyManager.gcpKms: the required prop "keyRing" is missing'],
    ['KeyManager.azureKeyVault', () => KeyManager.azureKeyVault(untyped(undefined)), 'KeyManager.azureKeyVault: the required prop "keyVaultUri" is missing'],
    ['ServerDatastore.external', () => ServerDatastore.external(DatabaseType.POSTGRES, untyped(undefined)), 'ServerDatastore.external: the required prop "connectionStringSecret" is missing'],
    ['ServerDatastore.external, a read-only ref without its key', () => ServerDatastore.external(DatabaseType.POSTGRES, { name: 'db', key: 'url' }, untyped({ readOnlyConnectionStringSecret: { name: 'db' } })), 'ServerDatastore.external readOnlyConnectionStringSecret: the required prop "key" is missing'],
    ['AwsPcaCaTemplate.subordinate', () => AwsPcaCaTemplate.subordinate(untyped('1')), 'AwsPcaCaTemplate.subordinate: the prop "pathLength" is the string "1", not a number'],
    ['AwsPcaCaTemplate.fromArn', () => AwsPcaCaTemplate.fromArn(untyped(undefined)), 'AwsPcaCaTemplate.fromArn: the required prop "arn" is missing'],
    ['OidcKeySource.bundleConfigMap', () => OidcKeySource.bundleConfigMap(untyped({ name: 'spire-bundle' })), 'OidcKeySource.bundleConfigMap: the required prop "key" is missing'],
    ['ServerDatastore.external, no database type', () => ServerDatastore.external(untyped(null), { name: 'db', key: 'url' }), 'ServerDatastore.external: the required prop "databaseType" is missing'],
    ['BundleEndpointProfile.httpsWebAcme', () => BundleEndpointProfile.httpsWebAcme(untyped({ domainName: 'bundle.example', email: 'ops@example' })), 'BundleEndpointProfile.httpsWebAcme: the required prop "tosAccepted" is missing'],
    ['BundleEndpointProfile.httpsWebServingCert', () => BundleEndpointProfile.httpsWebServingCert(untyped({})), 'BundleEndpointProfile.httpsWebServingCert: the required prop "secretName" is missing'],
    ['PartnerBundle.fromSpiffeJson', () => PartnerBundle.fromSpiffeJson(untyped({ keys: [] })), 'PartnerBundle.fromSpiffeJson: the prop "json" is a plain object, not a string'],
    ['PartnerBundle.fromFile', () => PartnerBundle.fromFile(untyped(undefined)), 'PartnerBundle.fromFile: the required prop "path" is missing'],
    ['PartnerBundle.fromConfigMap', () => PartnerBundle.fromConfigMap(untyped(undefined), 'bundle'), 'PartnerBundle.fromConfigMap: the required prop "configMap" is missing'],
    ['KubeletVerification.hostCa', () => KubeletVerification.hostCa(untyped(null)), 'KubeletVerification.hostCa: the required prop "hostPath" is missing'],
    ['PodPriority.of', () => PodPriority.of(untyped(undefined)), 'PodPriority.of: the required prop "priorityClassName" is missing'],
    ['WorkloadProbe.fromHttpGet', () => WorkloadProbe.fromHttpGet(untyped(null)), 'WorkloadProbe.fromHttpGet: the required prop "path" is missing'],
    ['WorkloadProbe.fromCommand', () => WorkloadProbe.fromCommand(untyped('true')), 'WorkloadProbe.fromCommand: the prop "command" is the string "true", not an array'],
    ['DefaultImages.fromRegistry', () => DefaultImages.fromRegistry(untyped(undefined), 'mirror.example'), 'DefaultImages.fromRegistry: the required prop "image" is missing'],
  ])('%s is refused at once, naming the factory, the prop and what to pass', (_factory, create, message) => {
    expect(create).toThrow(message);
  });
});
