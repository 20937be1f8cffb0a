import { ApiObject } from 'cdk8s';
import { NodeAttestor } from '../../../lib/config/node-attestor';
import { SpireServer } from '../../../lib/constructs/spire-server';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer node attestors', () => {
  const podOf = (server: SpireServer) => ApiObject.of(server.statefulSet).toJson().spec.template.spec;
  const container = (server: SpireServer, name: string) => podOf(server).containers.find((c: any) => c.name === name);

  test('by default the server attests with k8s_psat only and mounts no attestor Secret', () => {
    const { server } = buildStack();
    expect(server.serverConfig.plugins.NodeAttestor.map((entry: object) => Object.keys(entry)[0])).toEqual(['k8s_psat']);
    expect(podOf(server).volumes.map((v: any) => v.name)).not.toContainEqual(expect.stringMatching(/^node-attestor/));
  });

  test('attestors are added to k8s_psat, which keeps the agent\'s service account', () => {
    const { server, agent } = buildStack({ server: { nodeAttestors: [NodeAttestor.joinToken(), NodeAttestor.x509Pop()] } });
    const section = server.serverConfig.plugins.NodeAttestor;
    expect(section.map((entry: object) => Object.keys(entry)[0])).toEqual(['k8s_psat', 'join_token', 'x509pop']);
    expect(section[0].k8s_psat.plugin_data.clusters.test.service_account_allow_list).toEqual([`${agent.namespace}:${agent.serviceAccount.name}`]);
  });

  test('x509pop\'s CA bundle Secret is mounted read-only into spire-server only, where ca_bundle_path points', () => {
    const { server } = buildStack({ server: { nodeAttestors: [NodeAttestor.x509Pop({ caBundleSecret: { name: 'vm-ca', key: 'ca.pem' } })] } });
    const path = server.serverConfig.plugins.NodeAttestor[1].x509pop.plugin_data.ca_bundle_path;
    const volume = podOf(server).volumes.find((v: any) => v.secret?.secretName === 'vm-ca');
    expect(volume.secret.items).toEqual([{ key: 'ca.pem', path: 'ca.pem' }]);
    const mount = container(server, 'spire-server').volumeMounts.find((m: any) => m.name === volume.name);
    expect(`${mount.mountPath}/ca.pem`).toBe(path);
    expect(mount.readOnly).toBe(true);
    expect(container(server, 'spire-controller-manager').volumeMounts.map((m: any) => m.name)).not.toContain(volume.name);
  });

  test('the same attestor twice is rejected, naming the server and the plugin', () => {
    const nodeAttestors = [NodeAttestor.joinToken(), NodeAttestor.gcpIit({ projectIdAllowList: ['a'] }), NodeAttestor.gcpIit({ projectIdAllowList: ['b'] })];
    expect(errorsWith({ nodeAttestors })).toEqual([expect.stringContaining('[spire/Server] nodeAttestors "gcp_iit": SPIRE refuses to start when a NodeAttestor plugin is declared more than once')]);
  });

  test('an attestor\'s bad option is reported on the server\'s path', () => {
    expect(errorsWith({ nodeAttestors: [NodeAttestor.httpChallenge({ tofu: false })] })).toEqual([expect.stringContaining('[spire/Server] nodeAttestors.httpChallenge.tofu "false"')]);
  });
});
