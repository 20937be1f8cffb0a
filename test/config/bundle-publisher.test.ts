import { BundlePublisher, PublishedBundleFormat } from '../../lib/config/bundle-publisher';
import { renderServerConfig } from '../../lib/config/server-config';
import { renderJson } from '../../lib/config/spire-config';
import { formatProblem, Problem } from '../../lib/validation/rules';
import { SERVER_CONFIG_MODEL as model } from '../support/server-config-model';

const problems = (publisher: BundlePublisher) => publisher._model().checks
  .filter((check): check is [string, Problem] => check[1] !== undefined)
  .map(([what, problem]) => formatProblem(what, problem));

/** The BundlePublisher section as it lands in server.conf: undefined values are not written. */
const rendered = (...publishers: BundlePublisher[]) =>
  JSON.parse(renderJson(renderServerConfig({ ...model, bundlePublishers: publishers.map((publisher) => publisher._model()) }))).plugins.BundlePublisher;

const trustAnchorId = '0f8b6e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';

describe('BundlePublisher rendering', () => {
  test('the agents\' ConfigMap comes first and stays; the others follow in the given order, under SPIRE\'s keys', () => {
    const section = rendered(
      BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'bundles', objectKey: 'example.org/bundle.json', format: PublishedBundleFormat.SPIFFE, endpoint: 'https://minio.example.org:9000' }),
      BundlePublisher.gcpCloudStorage({ bucketName: 'bundles', objectName: 'example.org/jwks.json', format: PublishedBundleFormat.JWKS }),
      BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'eu-west-1', trustAnchorId }),
    );
    expect(section.map((entry: object) => Object.keys(entry)[0])).toEqual(['k8s_configmap', 'aws_s3', 'gcp_cloudstorage', 'aws_rolesanywhere_trustanchor']);
    expect(section.slice(1)).toEqual([
      { aws_s3: { plugin_data: { region: 'eu-west-1', bucket: 'bundles', object_key: 'example.org/bundle.json', format: 'spiffe', endpoint: 'https://minio.example.org:9000' } } },
      { gcp_cloudstorage: { plugin_data: { bucket_name: 'bundles', object_name: 'example.org/jwks.json', format: 'jwks' } } },
      { aws_rolesanywhere_trustanchor: { plugin_data: { region: 'eu-west-1', trust_anchor_id: trustAnchorId } } },
    ]);
  });

  test('without publishers only the agents\' ConfigMap is written', () => {
    expect(renderServerConfig(model)).toHaveProperty('plugins.BundlePublisher', [expect.objectContaining({ k8s_configmap: expect.anything() })]);
  });
});

describe('BundlePublisher checks', () => {
  test('valid options have no problems', () => {
    expect(problems(BundlePublisher.awsS3({ region: 'us-east-2', bucket: 'my.bundles-1', objectKey: 'b', format: PublishedBundleFormat.PEM }))).toEqual([]);
    expect(problems(BundlePublisher.gcpCloudStorage({ bucketName: 'my_bundles', objectName: 'b', format: PublishedBundleFormat.SPIFFE }))).toEqual([]);
    expect(problems(BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'us-east-2', trustAnchorId }))).toEqual([]);
  });

  test.each([
    ['a trust anchor ARN where its ID belongs', BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'eu-west-1', trustAnchorId: `arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/${trustAnchorId}` }), 'awsRolesAnywhereTrustAnchor.trustAnchorId "arn:aws:rolesanywhere'],
    ['a trust anchor region that is no region', BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'Ireland', trustAnchorId }), 'awsRolesAnywhereTrustAnchor.region "Ireland"'],
    ['an S3 URL where the bucket name belongs', BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 's3://bundles', objectKey: 'b', format: PublishedBundleFormat.SPIFFE }), 'awsS3.bucket "s3://bundles": an S3 bucket name'],
    ['an empty object key', BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'bundles', objectKey: '', format: PublishedBundleFormat.SPIFFE }), 'awsS3.objectKey "": SPIRE refuses to start'],
    ['an endpoint without scheme', BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'bundles', objectKey: 'b', format: PublishedBundleFormat.SPIFFE, endpoint: 'minio:9000' }), 'awsS3.endpoint "minio:9000": an S3 endpoint is an http(s) URL'],
    ['a format SPIRE does not write', BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'bundles', objectKey: 'b', format: 'der' as PublishedBundleFormat }), 'awsS3.format "der"'],
    ['a gs:// URL where the bucket name belongs', BundlePublisher.gcpCloudStorage({ bucketName: 'gs://bundles', objectName: 'b', format: PublishedBundleFormat.SPIFFE }), 'gcpCloudStorage.bucketName "gs://bundles"'],
    ['an empty object name', BundlePublisher.gcpCloudStorage({ bucketName: 'bundles', objectName: '', format: PublishedBundleFormat.SPIFFE }), 'gcpCloudStorage.objectName ""'],
  ])('%s is reported', (_, publisher, message) => {
    expect(problems(publisher)).toEqual([expect.stringContaining(message)]);
  });

  test('required options are refused at once, naming the factory', () => {
    expect(() => BundlePublisher.awsS3({ region: 'eu-west-1', bucket: 'b', objectKey: 'k' } as any)).toThrow('BundlePublisher.awsS3: the required prop "format" is missing');
    expect(() => BundlePublisher.gcpCloudStorage({ bucketName: 'b', format: PublishedBundleFormat.PEM } as any)).toThrow('BundlePublisher.gcpCloudStorage: the required prop "objectName" is missing');
    expect(() => BundlePublisher.awsRolesAnywhereTrustAnchor({ region: 'eu-west-1' } as any)).toThrow('BundlePublisher.awsRolesAnywhereTrustAnchor: the required prop "trustAnchorId" is missing');
  });
});
