import { ApiObject } from 'cdk8s';
import { SpireServer } from '../../../lib/constructs/spire-server';
import { UpstreamAuthority, VaultAuth } from '../../../lib/config/upstream-authority';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer upstream authority', () => {
  const podOf = (server: SpireServer) => ApiObject.of(server.statefulSet).toJson().spec.template.spec;
  const container = (server: SpireServer, name: string) => podOf(server).containers.find((c: any) => c.name === name);
  const upstreamPluginData = (server: SpireServer) => Object.values<any>(server.serverConfig.plugins.UpstreamAuthority[0])[0].plugin_data;
  const dirOf = (file: string) => file.slice(0, file.lastIndexOf('/'));

  test('by default the CA is self-signed: no UpstreamAuthority plugin, no upstream volume', () => {
    const { server } = buildStack();
    expect(server.serverConfig.plugins).not.toHaveProperty('UpstreamAuthority');
    expect(podOf(server).volumes.map((v: any) => v.name)).not.toContainEqual(expect.stringMatching(/^upstream/));
  });

  test('disk: the CA Secret is mounted read-only into spire-server only, where server.conf looks for the files', () => {
    const { server } = buildStack({ server: { upstreamAuthority: UpstreamAuthority.disk({ secretName: 'corp-ca', bundleFileKey: 'ca.crt' }) } });
    const data = upstreamPluginData(server);
    const volume = podOf(server).volumes.find((v: any) => v.secret?.secretName === 'corp-ca');
    expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }, { key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }]);
    const mount = container(server, 'spire-server').volumeMounts.find((m: any) => m.name === volume.name);
    expect(mount).toEqual({ name: volume.name, mountPath: dirOf(data.cert_file_path), readOnly: true });
    for (const key of ['cert_file_path', 'key_file_path', 'bundle_file_path']) expect(dirOf(data[key])).toBe(mount.mountPath);
    expect(container(server, 'spire-controller-manager').volumeMounts.map((m: any) => m.name)).not.toContain(volume.name);
  });

  test('vault: the token comes from its Secret as VAULT_TOKEN; the server.conf in the ConfigMap holds no token', () => {
    const { server, app } = buildStack({
      server: { upstreamAuthority: UpstreamAuthority.vault({ vaultAddr: 'https://vault:8200', auth: VaultAuth.token({ name: 'vault-token', key: 'token' }) }) },
    });
    const vaultToken = container(server, 'spire-server').env.filter((e: any) => e.name === 'VAULT_TOKEN');
    expect(vaultToken).toEqual([{ name: 'VAULT_TOKEN', valueFrom: { secretKeyRef: { name: 'vault-token', key: 'token' } } }]);
    const configMap = app.charts.flatMap((chart) => chart.toJson()).find((o: any) => o.kind === 'ConfigMap' && o.data?.['server.conf']);
    const written = JSON.parse(configMap.data['server.conf']).plugins.UpstreamAuthority[0].vault.plugin_data;
    expect(written.token_auth).toEqual({});
  });

  test('vault kubernetes auth reads a token projected for Vault\'s audience, mounted into spire-server only', () => {
    const { server } = buildStack({ server: { upstreamAuthority: UpstreamAuthority.vault({ vaultAddr: 'https://vault:8200', auth: VaultAuth.kubernetes({ role: 'spire' }) }) } });
    const pod = podOf(server);
    const tokenPath: string = upstreamPluginData(server).k8s_auth.token_path;
    const volume = pod.volumes.find((v: any) => v.projected);
    expect(volume.projected.sources).toEqual([{ serviceAccountToken: { path: tokenPath.slice(tokenPath.lastIndexOf('/') + 1), audience: 'vault', expirationSeconds: 600 } }]);
    const mount = container(server, 'spire-server').volumeMounts.find((m: any) => m.name === volume.name);
    expect([mount.mountPath, mount.readOnly]).toEqual([dirOf(tokenPath), true]);
    expect(container(server, 'spire-controller-manager').volumeMounts.map((m: any) => m.name)).not.toContain(volume.name);
    expect(pod.serviceAccountName).toBe(server.serviceAccount.name);
  });

  test('ejbca: the client certificate and EJBCA\'s CA are mounted read-only where server.conf looks for them', () => {
    const { server } = buildStack({
      server: {
        upstreamAuthority: UpstreamAuthority.ejbca({
          hostname: 'ejbca.example.com', caName: 'ca', endEntityProfileName: 'ee', certificateProfileName: 'cp',
          clientCertSecretName: 'ejbca-client', caCertSecret: { name: 'ejbca-ca', key: 'ca.crt' },
        }),
      },
    });
    const data = upstreamPluginData(server);
    const mounts = container(server, 'spire-server').volumeMounts;
    for (const [secretName, file] of [['ejbca-client', data.client_cert_path], ['ejbca-client', data.client_cert_key_path], ['ejbca-ca', data.ca_cert_path]]) {
      const volume = podOf(server).volumes.find((v: any) => v.secret?.secretName === secretName);
      expect(mounts.find((m: any) => m.name === volume.name)).toEqual({ name: volume.name, mountPath: dirOf(file), readOnly: true });
    }
  });

  test('cert-manager: the server\'s service account may create, read, list and delete CertificateRequests in the issuer\'s namespace', () => {
    const { server, chart } = buildStack({ server: { upstreamAuthority: UpstreamAuthority.certManager({ issuerName: 'corp', namespace: 'pki' }) } });
    const objects = chart.toJson();
    const role = objects.find((o: any) => o.kind === 'Role' && o.metadata.namespace === 'pki');
    expect(role.rules).toEqual([{ apiGroups: ['cert-manager.io'], resources: ['certificaterequests'], verbs: ['get', 'list', 'create', 'delete'] }]);
    const binding = objects.find((o: any) => o.kind === 'RoleBinding' && o.roleRef.name === role.metadata.name);
    expect(binding.metadata.namespace).toBe('pki');
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: server.serviceAccount.name, namespace: server.namespace }]);
    expect(upstreamPluginData(server).namespace).toBe(role.metadata.namespace);
  });

  test('nested spire: the upstream agent\'s CSI volume is mounted read-only where workload_api_socket points', () => {
    const { server } = buildStack({ server: { upstreamAuthority: UpstreamAuthority.spire({ serverAddress: 'root.example.org', csiDriverName: 'csi.root.spiffe.io' }) } });
    const volume = podOf(server).volumes.find((v: any) => v.csi);
    expect(volume.csi).toEqual({ driver: 'csi.root.spiffe.io', readOnly: true });
    const mount = container(server, 'spire-server').volumeMounts.find((m: any) => m.name === volume.name);
    expect([mount.mountPath, mount.readOnly]).toEqual([dirOf(upstreamPluginData(server).workload_api_socket), true]);
  });

  test('nested spire through the CSI driver of the server\'s own agent is rejected', () => {
    const upstreamAuthority = UpstreamAuthority.spire({ serverAddress: 'root.example.org', csiDriverName: 'csi.spiffe.io' });
    expect(errorsWith({ upstreamAuthority })).toEqual([expect.stringContaining('[spire/Csi] driverName "csi.spiffe.io": the upstreamAuthority of spire/Server reads the upstream agent\'s socket through this driver')]);
  });

  test('a cert-manager upstream without an issuer is rejected, naming the server and the option', () => {
    const upstreamAuthority = UpstreamAuthority.certManager({ issuerName: '', namespace: 'pki' });
    expect(errorsWith({ upstreamAuthority })).toEqual([expect.stringContaining('[spire/Server] upstreamAuthority.issuerName "": the cert-manager Issuer or ClusterIssuer')]);
  });
});
