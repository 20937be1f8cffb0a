import { BundlePublisher, PublishedBundleFormat } from '../../../lib/config/bundle-publisher';
import { UpstreamAuthority } from '../../../lib/config/upstream-authority';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);
const s3 = BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'bundles', objectKey: 'example.org/bundle.json', format: PublishedBundleFormat.SPIFFE });
const rolesAnywhere = BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'eu-west-1', trustAnchorId: '0f8b6e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b' });

describe('SpireServer bundle publishers', () => {
  test('publishers are added to the agents\' ConfigMap, which keeps the agent\'s bundle', () => {
    const { server, agent } = buildStack({ server: { bundlePublishers: [s3] } });
    const section = server.serverConfig.plugins.BundlePublisher;
    expect(section.map((entry: object) => Object.keys(entry)[0])).toEqual(['k8s_configmap', 'aws_s3']);
    expect(section[0].k8s_configmap.plugin_data.clusters.test.configmap_name).toBe(agent.bundle.configMapName);
    expect(errorsWith({ bundlePublishers: [s3] })).toEqual([]);
  });

  test('the same publisher twice is rejected, naming the server and the plugin', () => {
    expect(errorsWith({ bundlePublishers: [s3, s3] })).toEqual([expect.stringContaining('[spire/Server] bundlePublishers "aws_s3": SPIRE refuses to start when a BundlePublisher plugin is declared more than once')]);
  });

  test('a Roles Anywhere trust anchor needs an upstream authority, whose roots fit its two CAs', () => {
    expect(errorsWith({ bundlePublishers: [rolesAnywhere] })).toEqual([expect.stringContaining('[spire/Server] bundlePublishers "aws_rolesanywhere_trustanchor": the destination holds at most two CAs')]);
    expect(errorsWith({ bundlePublishers: [rolesAnywhere], upstreamAuthority: UpstreamAuthority.disk({ secretName: 'corp-ca' }) })).toEqual([]);
  });

  test('a publisher\'s bad option is reported on the server\'s path', () => {
    const bad = BundlePublisher.gcpCloudStorage({ bucketName: 'gs://b', objectName: 'o', format: PublishedBundleFormat.PEM });
    expect(errorsWith({ bundlePublishers: [bad] })).toEqual([expect.stringContaining('[spire/Server] bundlePublishers.gcpCloudStorage.bucketName "gs://b"')]);
  });
});
