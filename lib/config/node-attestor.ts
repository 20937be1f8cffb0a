import { checkAwsRegion } from '../validation/aws';
import { requireProps } from '../validation/required';
import { checkGoDuration, checkGoRegexp, checkPort, goDurationSeconds, Problem, secretKeyChecks } from '../validation/rules';
import { Check } from '../validation/validate';
import { requireSecretKeyRef, SecretKeyRef, secretKeyFile, SecretVolumeModel, ServerPluginModel } from './server-config';

/** Options of the `http_challenge` node attestor: the agent proves it serves its host name over HTTP. */
export interface HttpChallengeAttestorOptions {
  /**
   * Regular expressions (Go RE2) an agent's host name must match; anchor them
   * yourself (`^vm[0-9]+\.example\.org$`).
   * @default every host name the server can reach is accepted
   */
  readonly allowedDnsPatterns?: string[];
  /** The only port agents may serve the challenge on. @default any port */
  readonly requiredPort?: number;
  /** Whether agents may serve the challenge on ports of 1024 and above, which any user of the host can open. @default true, SPIRE's own */
  readonly allowNonRootPorts?: boolean;
  /**
   * Trust on first use: each host name attests once. It can be turned off
   * only when agents must use a port below 1024 (`allowNonRootPorts: false`,
   * or a `requiredPort` below 1024).
   * @default true, SPIRE's own
   */
  readonly tofu?: boolean;
}

/** Options of the `aws_iid` node attestor, for EC2 instances. SPIRE finds AWS credentials through the default chain, e.g. IAM Roles for Service Accounts. */
export interface AwsIidAttestorOptions {
  /**
   * Name (not ARN) of the IAM role SPIRE assumes in each instance's account
   * to describe the instance (`assume_role`).
   * @default none: the server's own credentials describe the instances
   */
  readonly assumeRole?: string;
  /**
   * Accept only instances of accounts in an AWS Organization (`verify_organization`).
   * @default instances of any account
   */
  readonly verifyOrganization?: AwsOrganizationOptions;
}

/** The AWS Organization whose member accounts an `aws_iid` attestor accepts. */
export interface AwsOrganizationOptions {
  /** ID (12 digits) of the organization's management account. */
  readonly managementAccountId: string;
  /** Name of the IAM role in the management account that lists the organization's accounts. */
  readonly assumeOrgRole: string;
  /** Region of the management account. @default "us-west-2", SPIRE's own */
  readonly managementAccountRegion?: string;
  /** How long the list of accounts is cached (Go duration, at least 1m). @default "3m", SPIRE's own */
  readonly orgAccountMapTtl?: string;
}

/** Options of the `gcp_iit` node attestor, for Compute Engine instances. */
export interface GcpIitAttestorOptions {
  /** Projects whose instances may attest; at least one. */
  readonly projectIdAllowList: string[];
  /**
   * Read each instance from the Compute Engine API for selectors of its tags,
   * labels and metadata (`use_instance_metadata`); the server needs
   * `compute.instances.get`, e.g. through Workload Identity.
   * @default none: selectors of the identity token only
   */
  readonly instanceMetadata?: GcpInstanceMetadataOptions;
  /** Path of the agents' SPIFFE IDs, a Go template. @default SPIRE's own, "/{{ .PluginName }}/{{ .ProjectID }}/{{ .InstanceID }}" */
  readonly agentPathTemplate?: string;
}

/** Which instance labels and metadata a `gcp_iit` attestor turns into selectors. */
export interface GcpInstanceMetadataOptions {
  /** Label keys that become selectors. @default none */
  readonly allowedLabelKeys?: string[];
  /** Metadata keys that become selectors. @default none */
  readonly allowedMetadataKeys?: string[];
  /** Largest metadata value in bytes; a larger allowed value fails attestation. @default 128, SPIRE's own */
  readonly maxMetadataValueSize?: number;
}

/**
 * Options of the `x509pop` node attestor: the agent proves it holds the key
 * of an X.509 certificate.
 */
export interface X509PopAttestorOptions {
  /**
   * Secret key holding the roots (PEM) the agents' certificates chain to, for
   * certificates of another PKI (SPIRE's `external_pki` mode); mounted read-only.
   * @default none: the agents present X509-SVIDs of this trust domain under `spiffePrefix` (SPIRE's `spiffe` mode)
   */
  readonly caBundleSecret?: SecretKeyRef;
  /**
   * Path prefix of the X509-SVIDs agents exchange for agent SVIDs; only
   * without `caBundleSecret`.
   * @default "/spire-exchange/", SPIRE's own
   */
  readonly spiffePrefix?: string;
  /** Path of the agents' SPIFFE IDs, a Go template. @default SPIRE's own, by the certificate's fingerprint or the SVID's trimmed path */
  readonly agentPathTemplate?: string;
  /** Most intermediates a chain may have. @default 4, SPIRE's own */
  readonly maxIntermediates?: number;
  /** Largest RSA key an agent's certificate may have, in bits. @default 8192, SPIRE's own */
  readonly maxRsaKeySize?: number;
}

/** What the server needs for a node attestor besides its plugin block. */
export interface NodeAttestorModel extends ServerPluginModel {
  readonly secretVolumes: SecretVolumeModel[];
  readonly checks: Check[];
}

/** Where the server finds node attestors' files from Secrets. */
const NODE_ATTESTOR_SECRETS_DIR = '/run/spire/node-attestors';
const AWS_ACCOUNT_ID = /^[0-9]{12}$/;
const IAM_ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const MIN_ORG_ACCOUNT_MAP_TTL_SECONDS = 60;
const PRIVILEGED_PORT_LIMIT = 1024;

/**
 * How the server attests agents outside the cluster, e.g. on the virtual
 * machines a ClusterStaticEntry names as parents, besides `k8s_psat` for the
 * cluster's own agents, which always stays on. Each is SPIRE's built-in
 * server plugin of that name; its agents run the agent-side plugin.
 */
export class NodeAttestor {
  /** `join_token`: agents attest once with a single-use token made by `spire-server token generate`. */
  public static joinToken(): NodeAttestor {
    return new NodeAttestor({ pluginName: 'join_token', pluginData: {}, secretVolumes: [], checks: [] });
  }

  /** `http_challenge`: agents prove they serve their host name over HTTP. */
  public static httpChallenge(options: HttpChallengeAttestorOptions = {}): NodeAttestor {
    return new NodeAttestor({
      pluginName: 'http_challenge',
      pluginData: {
        allowed_dns_patterns: options.allowedDnsPatterns,
        required_port: options.requiredPort,
        allow_non_root_ports: options.allowNonRootPorts,
        tofu: options.tofu,
      },
      secretVolumes: [],
      checks: [
        ...(options.allowedDnsPatterns ?? []).map((pattern): Check => ['httpChallenge.allowedDnsPatterns', checkGoRegexp(pattern, 'the SPIRE server', '^vm[0-9]+\\.example\\.org$')]),
        ['httpChallenge.requiredPort', options.requiredPort === undefined ? undefined : checkPort(options.requiredPort)],
        ['httpChallenge.tofu', checkHttpChallengeTofu(options)],
      ],
    });
  }

  /** `aws_iid`: EC2 instances attest with their signed instance identity document. */
  public static awsIid(options: AwsIidAttestorOptions = {}): NodeAttestor {
    const org = options.verifyOrganization;
    if (org !== undefined) {
      requireProps('NodeAttestor.awsIid verifyOrganization', org, [
        ['managementAccountId', 'string', 'the 12-digit ID of the organization\'s management account'],
        ['assumeOrgRole', 'string', 'the name of the role in the management account that lists the accounts'],
      ]);
    }
    return new NodeAttestor({
      pluginName: 'aws_iid',
      pluginData: {
        assume_role: options.assumeRole,
        verify_organization: org === undefined ? undefined : {
          management_account_id: org.managementAccountId,
          assume_org_role: org.assumeOrgRole,
          management_account_region: org.managementAccountRegion,
          org_account_map_ttl: org.orgAccountMapTtl,
        },
      },
      secretVolumes: [],
      checks: [
        ['awsIid.assumeRole', options.assumeRole === undefined ? undefined : checkIamRoleName(options.assumeRole)],
        ...(org === undefined ? [] : organizationChecks(org)),
      ],
    });
  }

  /** `gcp_iit`: Compute Engine instances attest with their instance identity token, once each. */
  public static gcpIit(options: GcpIitAttestorOptions): NodeAttestor {
    requireProps('NodeAttestor.gcpIit', options, [['projectIdAllowList', 'array', 'the projects whose instances may attest, e.g. ["my-project"]']]);
    const metadata = options.instanceMetadata;
    const maxSize = metadata?.maxMetadataValueSize;
    return new NodeAttestor({
      pluginName: 'gcp_iit',
      pluginData: {
        projectid_allow_list: options.projectIdAllowList,
        use_instance_metadata: metadata === undefined ? undefined : true,
        allowed_label_keys: metadata?.allowedLabelKeys,
        allowed_metadata_keys: metadata?.allowedMetadataKeys,
        max_metadata_value_size: maxSize,
        agent_path_template: options.agentPathTemplate,
      },
      secretVolumes: [],
      checks: [
        ['gcpIit.projectIdAllowList', options.projectIdAllowList.length > 0 ? undefined : {
          value: '[]',
          rule: 'SPIRE attests no instance without a project to accept them from, and refuses to start',
          fix: 'list the projects of your instances, e.g. ["my-project"]',
        }],
        ['gcpIit.instanceMetadata.maxMetadataValueSize', maxSize === undefined ? undefined : checkPositiveInteger(maxSize, 'bytes', '128')],
        ['gcpIit.agentPathTemplate', checkAgentPathTemplate(options.agentPathTemplate)],
      ],
    });
  }

  /** `x509pop`: agents prove they hold the key of an X.509 certificate. */
  public static x509Pop(options: X509PopAttestorOptions = {}): NodeAttestor {
    const ca = options.caBundleSecret;
    if (ca !== undefined) requireSecretKeyRef('NodeAttestor.x509Pop', 'caBundleSecret', ca);
    const caFile = ca === undefined ? undefined : secretKeyFile(`${NODE_ATTESTOR_SECRETS_DIR}/x509pop-ca`, ca);
    return new NodeAttestor({
      pluginName: 'x509pop',
      pluginData: {
        mode: ca === undefined ? 'spiffe' : 'external_pki',
        ca_bundle_path: caFile?.path,
        spiffe_prefix: options.spiffePrefix,
        agent_path_template: options.agentPathTemplate,
        max_intermediates: options.maxIntermediates,
        max_rsa_key_size: options.maxRsaKeySize,
      },
      secretVolumes: caFile === undefined ? [] : [caFile.volume],
      checks: [
        ...(ca === undefined ? [] : secretKeyChecks('x509Pop.caBundleSecret', ca)),
        ['x509Pop.spiffePrefix', ca !== undefined && options.spiffePrefix !== undefined ? {
          value: options.spiffePrefix,
          rule: 'the prefix applies to X509-SVIDs of this trust domain; with caBundleSecret the agents present certificates of another PKI',
          fix: 'leave spiffePrefix out, or caBundleSecret to exchange X509-SVIDs',
        } : undefined],
        ['x509Pop.agentPathTemplate', checkAgentPathTemplate(options.agentPathTemplate)],
        ['x509Pop.maxIntermediates', options.maxIntermediates === undefined ? undefined : checkPositiveInteger(options.maxIntermediates, 'intermediates', '4')],
        ['x509Pop.maxRsaKeySize', options.maxRsaKeySize === undefined ? undefined : checkPositiveInteger(options.maxRsaKeySize, 'bits', '8192')],
      ],
    });
  }

  /** SPIRE's name of the plugin, e.g. `join_token`. */
  public readonly pluginName: string;
  private readonly model: NodeAttestorModel;

  private constructor(model: NodeAttestorModel) {
    this.pluginName = model.pluginName;
    this.model = model;
  }

  /** @internal */
  public _model(): NodeAttestorModel {
    return this.model;
  }
}

/** SPIRE refuses to turn TOFU off while agents may answer on ports any user can open (`buildConfig` of `http_challenge`, v1.15.3). */
function checkHttpChallengeTofu(options: HttpChallengeAttestorOptions): Problem | undefined {
  if (options.tofu !== false) return undefined;
  const rootPortsOnly = options.requiredPort === undefined ? options.allowNonRootPorts === false : options.requiredPort < PRIVILEGED_PORT_LIMIT;
  if (rootPortsOnly) return undefined;
  return {
    value: 'false',
    rule: `trust on first use can be turned off only when agents must answer on a port below ${PRIVILEGED_PORT_LIMIT}, which only root can open; SPIRE refuses to start otherwise`,
    fix: `set allowNonRootPorts to false or requiredPort below ${PRIVILEGED_PORT_LIMIT}, or leave tofu on`,
  };
}

function organizationChecks(org: AwsOrganizationOptions): Check[] {
  const ttl = org.orgAccountMapTtl;
  return [
    ['awsIid.verifyOrganization.managementAccountId', AWS_ACCOUNT_ID.test(org.managementAccountId) ? undefined : {
      value: org.managementAccountId,
      rule: 'an AWS account ID is 12 digits',
      fix: 'copy the management account\'s ID from AWS Organizations',
    }],
    ['awsIid.verifyOrganization.assumeOrgRole', checkIamRoleName(org.assumeOrgRole)],
    ['awsIid.verifyOrganization.managementAccountRegion', org.managementAccountRegion === undefined ? undefined : checkAwsRegion(org.managementAccountRegion, 'the management account')],
    ['awsIid.verifyOrganization.orgAccountMapTtl', ttl === undefined ? undefined : checkOrgAccountMapTtl(ttl)],
  ];
}

function checkOrgAccountMapTtl(ttl: string): Problem | undefined {
  const seconds = goDurationSeconds(ttl);
  if (seconds === undefined) return checkGoDuration(ttl);
  if (seconds >= MIN_ORG_ACCOUNT_MAP_TTL_SECONDS) return undefined;
  return { value: ttl, rule: 'SPIRE caches the organization\'s accounts for at least 1m and refuses to start with less', fix: 'set it to "1m" or more, e.g. "3m"' };
}

/** SPIRE builds `arn:<partition>:iam::<account>:role/<name>` from the name. */
function checkIamRoleName(value: string): Problem | undefined {
  if (IAM_ROLE_NAME.test(value)) return undefined;
  return { value, rule: 'this is the name of an IAM role, not its ARN: at most 64 letters, digits and "+=,.@_-"', fix: 'give the role\'s name, e.g. "spire-server"' };
}

function checkAgentPathTemplate(value: string | undefined): Problem | undefined {
  if (value === undefined || value.trim().length > 0) return undefined;
  return { value, rule: 'an empty template gives every agent the same SPIFFE ID', fix: 'leave agentPathTemplate out for SPIRE\'s own, or write a Go template such as "/{{ .PluginName }}/{{ .InstanceID }}"' };
}

function checkPositiveInteger(value: number, unit: string, example: string): Problem | undefined {
  if (Number.isInteger(value) && value > 0) return undefined;
  return { value: String(value), rule: `the limit is a whole number of ${unit} above 0`, fix: `leave it out for SPIRE's own, or set it like ${example}` };
}
