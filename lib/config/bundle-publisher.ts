import { checkAwsRegion } from '../validation/aws';
import { requireProps } from '../validation/required';
import { checkHttpUrl, Problem } from '../validation/rules';
import { Check } from '../validation/validate';
import { ServerPluginModel } from './server-config';

/** Formats a bundle publisher writes the trust bundle in. */
export enum PublishedBundleFormat {
  /** The SPIFFE bundle (a JWK Set with X.509 and JWT authorities), which SPIRE servers and agents read. */
  SPIFFE = 'spiffe',
  /** A plain JWK Set of the JWT authorities, for JWT verifiers. */
  JWKS = 'jwks',
  /** PEM X.509 CA certificates, for TLS stacks that take a CA file. */
  PEM = 'pem',
}

/** Options of the `aws_rolesanywhere_trustanchor` bundle publisher. */
export interface AwsRolesAnywhereOptions {
  /** AWS region of the trust anchor, e.g. `eu-west-1`. */
  readonly region: string;
  /** ID (a UUID) of the IAM Roles Anywhere trust anchor the server keeps its X.509 roots in. */
  readonly trustAnchorId: string;
}

/** Options of the `aws_s3` bundle publisher. */
export interface AwsS3BundleOptions {
  /** AWS region of the bucket, e.g. `eu-west-1`. */
  readonly region: string;
  /** Name of the bucket. */
  readonly bucket: string;
  /** Key of the object the bundle is written to, e.g. `example.org/bundle.json`. */
  readonly objectKey: string;
  readonly format: PublishedBundleFormat;
  /** URL of an S3-compatible endpoint, e.g. a MinIO server or a VPC endpoint. @default AWS's endpoint of the region */
  readonly endpoint?: string;
}

/** Options of the `gcp_cloudstorage` bundle publisher. */
export interface GcsBundleOptions {
  /** Name of the Cloud Storage bucket. */
  readonly bucketName: string;
  /** Name of the object the bundle is written to, e.g. `example.org/bundle.json`. */
  readonly objectName: string;
  readonly format: PublishedBundleFormat;
}

/** What the server needs for a bundle publisher besides its plugin block. */
export interface BundlePublisherModel extends ServerPluginModel {
  /** Whether the destination takes so few roots that the server's CA needs an upstream authority. */
  readonly needsUpstreamAuthority: boolean;
  readonly checks: Check[];
}

const TRUST_ANCHOR_ID = /^[a-f0-9]{8}-([a-f0-9]{4}-){3}[a-f0-9]{12}$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Where the server publishes its trust bundle besides the agents' ConfigMap,
 * which it always writes, and keeps it current. Each is SPIRE's built-in
 * BundlePublisher plugin of that name; SPIRE finds cloud credentials through
 * the default chain, e.g. the pod identity set with `serviceAccountAnnotations`.
 */
export class BundlePublisher {
  /**
   * `aws_rolesanywhere_trustanchor`: the X.509 roots (PEM) become the source of
   * an IAM Roles Anywhere trust anchor, so workloads exchange X509-SVIDs for
   * AWS credentials. A trust anchor holds at most two CAs, so the server needs
   * an upstream authority: its own rotating CAs would exceed that.
   */
  public static awsRolesAnywhereTrustAnchor(options: AwsRolesAnywhereOptions): BundlePublisher {
    requireProps('BundlePublisher.awsRolesAnywhereTrustAnchor', options, [
      ['region', 'string', 'the AWS region of the trust anchor, e.g. "eu-west-1"'],
      ['trustAnchorId', 'string', 'the trust anchor\'s ID, e.g. "0f8b6e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"'],
    ]);
    return new BundlePublisher({
      pluginName: 'aws_rolesanywhere_trustanchor',
      pluginData: { region: options.region, trust_anchor_id: options.trustAnchorId },
      needsUpstreamAuthority: true,
      checks: [
        ['awsRolesAnywhereTrustAnchor.region', checkAwsRegion(options.region, 'the trust anchor')],
        ['awsRolesAnywhereTrustAnchor.trustAnchorId', TRUST_ANCHOR_ID.test(options.trustAnchorId) ? undefined : {
          value: options.trustAnchorId,
          rule: 'a trust anchor ID is a lowercase UUID, not its ARN or name',
          fix: 'copy the ID from the trust anchor in IAM Roles Anywhere, e.g. "0f8b6e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"',
        }],
      ],
    });
  }

  /** `aws_s3`: the bundle as an object of an S3 bucket. */
  public static awsS3(options: AwsS3BundleOptions): BundlePublisher {
    requireProps('BundlePublisher.awsS3', options, [
      ['region', 'string', 'the AWS region of the bucket, e.g. "eu-west-1"'],
      ['bucket', 'string', 'the name of the bucket'],
      ['objectKey', 'string', 'the key of the object, e.g. "example.org/bundle.json"'],
      ['format', 'string', 'PublishedBundleFormat.SPIFFE, JWKS or PEM'],
    ]);
    return new BundlePublisher({
      pluginName: 'aws_s3',
      pluginData: { region: options.region, bucket: options.bucket, object_key: options.objectKey, format: options.format, endpoint: options.endpoint },
      needsUpstreamAuthority: false,
      checks: [
        ['awsS3.region', checkAwsRegion(options.region, 'the bucket')],
        ['awsS3.bucket', S3_BUCKET.test(options.bucket) ? undefined : {
          value: options.bucket,
          rule: 'an S3 bucket name has 3 to 63 lowercase letters, digits, "." and "-", starting and ending alphanumeric',
          fix: 'give the bucket\'s name, without "s3://" or a path',
        }],
        ['awsS3.objectKey', checkObjectName(options.objectKey)],
        ['awsS3.format', checkFormat(options.format)],
        ['awsS3.endpoint', options.endpoint === undefined ? undefined : checkHttpUrl(options.endpoint, 'an S3 endpoint', 'https://minio.example.org:9000')],
      ],
    });
  }

  /** `gcp_cloudstorage`: the bundle as an object of a Cloud Storage bucket. */
  public static gcpCloudStorage(options: GcsBundleOptions): BundlePublisher {
    requireProps('BundlePublisher.gcpCloudStorage', options, [
      ['bucketName', 'string', 'the name of the bucket'],
      ['objectName', 'string', 'the name of the object, e.g. "example.org/bundle.json"'],
      ['format', 'string', 'PublishedBundleFormat.SPIFFE, JWKS or PEM'],
    ]);
    return new BundlePublisher({
      pluginName: 'gcp_cloudstorage',
      pluginData: { bucket_name: options.bucketName, object_name: options.objectName, format: options.format },
      needsUpstreamAuthority: false,
      checks: [
        ['gcpCloudStorage.bucketName', GCS_BUCKET.test(options.bucketName) ? undefined : {
          value: options.bucketName,
          rule: 'a Cloud Storage bucket name has 3 to 222 lowercase letters, digits, "-", "_" and ".", starting and ending alphanumeric',
          fix: 'give the bucket\'s name, without "gs://" or a path',
        }],
        ['gcpCloudStorage.objectName', checkObjectName(options.objectName)],
        ['gcpCloudStorage.format', checkFormat(options.format)],
      ],
    });
  }

  /** SPIRE's name of the plugin, e.g. `aws_s3`. */
  public readonly pluginName: string;
  private readonly model: BundlePublisherModel;

  private constructor(model: BundlePublisherModel) {
    this.pluginName = model.pluginName;
    this.model = model;
  }

  /** @internal */
  public _model(): BundlePublisherModel {
    return this.model;
  }
}

function checkObjectName(value: string): Problem | undefined {
  if (value.length > 0) return undefined;
  return { value, rule: 'SPIRE refuses to start without the object the bundle is written to', fix: 'name the object, e.g. "example.org/bundle.json"' };
}

/** For JavaScript and Python callers, who may pass any string. */
function checkFormat(value: string): Problem | undefined {
  if ((Object.values(PublishedBundleFormat) as string[]).includes(value)) return undefined;
  return { value, rule: 'bundle publishers write the formats spiffe, jwks and pem', fix: 'use PublishedBundleFormat.SPIFFE, JWKS or PEM' };
}
