import { Duration } from 'cdk8s';
import { checkAwsRegion } from '../validation/aws';
import { checkDnsLabel, checkDnsSubdomain, checkHttpUrl, checkPort, checkSecretKey, isFileName, Problem, secretKeyChecks } from '../validation/rules';
import { Check } from '../validation/validate';
import { requireProps } from '../validation/required';
import { requireSecretKeyRef, SecretEnvModel, SecretKeyRef, secretKeyFile, SecretVolumeModel, tlsSecretFiles } from './server-config';

/** Options of the `disk` upstream authority: a CA certificate and key from a Secret. */
export interface DiskUpstreamOptions {
  /** Secret in the server's namespace holding the upstream CA, e.g. a `kubernetes.io/tls` Secret. */
  readonly secretName: string;
  /**
   * Key of the CA certificate: the self-signed root, or the CA certificate
   * followed by the chain up to a root in `bundleFileKey`.
   * @default "tls.crt"
   */
  readonly certFileKey?: string;
  /** Key of the CA's private key (EC or RSA, PEM). @default "tls.key" */
  readonly keyFileKey?: string;
  /**
   * Key of the roots the certificate chains up to, when it is not self-signed
   * (joining an existing PKI). @default none: the certificate is a self-signed root
   */
  readonly bundleFileKey?: string;
}

/** Options of the `cert-manager` upstream authority. */
export interface CertManagerUpstreamOptions {
  /** Name of the cert-manager issuer that signs the server's CA; it must be able to sign CA certificates. */
  readonly issuerName: string;
  /** Kind of the issuer. @default "Issuer" */
  readonly issuerKind?: string;
  /** API group of the issuer; another group is an external issuer. @default "cert-manager.io" */
  readonly issuerGroup?: string;
  /**
   * Namespace the server creates its CertificateRequests in; an `Issuer` must
   * live there. The server gets a Role there to create, read, list and delete them.
   */
  readonly namespace: string;
}

/** Options of the `vault` upstream authority: Vault's PKI secrets engine signs the server's CA. */
export interface VaultUpstreamOptions {
  /** URL of the Vault server, e.g. `https://vault.example.com:8200/`. */
  readonly vaultAddr: string;
  /** How the server logs in to Vault. */
  readonly auth: VaultAuth;
  /** Mount point of the PKI secrets engine. @default "pki", SPIRE's default */
  readonly pkiMountPoint?: string;
  /** CA certificate (PEM) that Vault's TLS certificate chains to. @default the system roots of the server image */
  readonly caCertSecret?: SecretKeyRef;
  /** Vault Enterprise namespace. @default none */
  readonly vaultNamespace?: string;
}

/**
 * Options of Vault's Kubernetes auth method, which logs in with a token of
 * the server's service account projected for Vault alone: not the token the
 * server calls the API server with, which Vault, or anyone who reads it
 * there, could replay against the API server.
 */
export interface VaultKubernetesAuthOptions {
  /** Vault role bound to the server's service account. */
  readonly role: string;
  /** Mount point of the auth method. @default "kubernetes", SPIRE's default */
  readonly mountPoint?: string;
  /**
   * Audience of the projected token; the Vault role's `audience` must be the same.
   * @default "vault"
   */
  readonly tokenAudience?: string;
  /**
   * Lifetime of the projected token, at least 10 minutes; the kubelet renews
   * it after 80 % of it, and SPIRE reads the file at each login.
   * @default Duration.minutes(10), the shortest the API server issues: a leaked token is soon useless
   */
  readonly tokenExpiration?: Duration;
}

/** Options of Vault's AppRole auth method. */
export interface VaultAppRoleAuthOptions {
  /** The role ID; an identifier, not a secret. */
  readonly roleId: string;
  /** Secret key holding the secret ID; it reaches SPIRE as `VAULT_APPROLE_SECRET_ID`. */
  readonly secretIdSecret: SecretKeyRef;
  /** Mount point of the auth method. @default "approle", SPIRE's default */
  readonly mountPoint?: string;
}

/** Options of Vault's TLS certificate auth method. */
export interface VaultCertificateAuthOptions {
  /** `kubernetes.io/tls` Secret holding the client certificate (`tls.crt`) and key (`tls.key`). */
  readonly secretName: string;
  /** Vault role to log in with. @default every role the certificate matches */
  readonly role?: string;
  /** Mount point of the auth method. @default "cert", SPIRE's default */
  readonly mountPoint?: string;
}

/** How SPIRE logs in to Vault. Secrets reach the server as environment variables or files, never through its ConfigMap. */
export class VaultAuth {
  /** Vault's Kubernetes auth method, with a token of the server's service account projected for Vault. */
  public static kubernetes(options: VaultKubernetesAuthOptions): VaultAuth {
    requireProps('VaultAuth.kubernetes', options, [['role', 'string', 'the Vault role bound to the server\'s service account, e.g. "spire-server"']]);
    const token: ProjectedTokenModel = {
      audience: options.tokenAudience ?? DEFAULT_VAULT_TOKEN_AUDIENCE,
      expirationSeconds: (options.tokenExpiration ?? DEFAULT_VAULT_TOKEN_EXPIRATION).toSeconds(),
      mountPath: `${UPSTREAM_SECRETS_DIR}/vault-token`,
      file: 'token',
    };
    return new VaultAuth({
      block: 'k8s_auth',
      data: { k8s_auth_mount_point: options.mountPoint, k8s_auth_role_name: options.role, token_path: `${token.mountPath}/${token.file}` },
      env: [],
      volumes: [],
      projectedToken: token,
      checks: [
        ['auth.role', checkNotEmpty(options.role, 'the Vault role bound to the server\'s service account')],
        ['auth.tokenAudience', checkNotEmpty(token.audience, 'the audience the Vault role expects')],
        ['auth.tokenExpiration', checkTokenExpiration(token.expirationSeconds)],
      ],
    });
  }

  /** A Vault token from a Secret key; it reaches SPIRE as `VAULT_TOKEN`. */
  public static token(tokenSecret: SecretKeyRef): VaultAuth {
    requireSecretKeyRef('VaultAuth.token', 'tokenSecret', tokenSecret);
    return new VaultAuth({
      block: 'token_auth',
      data: {},
      env: [{ name: 'VAULT_TOKEN', secret: tokenSecret }],
      volumes: [],
      checks: secretKeyChecks('auth.tokenSecret', tokenSecret),
    });
  }

  /** Vault's AppRole auth method. */
  public static appRole(options: VaultAppRoleAuthOptions): VaultAuth {
    requireProps('VaultAuth.appRole', options, [['roleId', 'string', 'the AppRole\'s role ID']]);
    requireSecretKeyRef('VaultAuth.appRole', 'secretIdSecret', options.secretIdSecret);
    return new VaultAuth({
      block: 'approle_auth',
      data: { approle_auth_mount_point: options.mountPoint, approle_id: options.roleId },
      env: [{ name: 'VAULT_APPROLE_SECRET_ID', secret: options.secretIdSecret }],
      volumes: [],
      checks: [
        ['auth.roleId', checkNotEmpty(options.roleId, 'the AppRole\'s role ID')],
        ...secretKeyChecks('auth.secretIdSecret', options.secretIdSecret),
      ],
    });
  }

  /** Vault's TLS certificate auth method, with a client certificate from a Secret. */
  public static certificate(options: VaultCertificateAuthOptions): VaultAuth {
    requireProps('VaultAuth.certificate', options, [['secretName', 'string', 'the kubernetes.io/tls Secret holding the client certificate, e.g. "vault-client"']]);
    const client = tlsSecretFiles(`${UPSTREAM_SECRETS_DIR}/vault-client`, options.secretName);
    return new VaultAuth({
      block: 'cert_auth',
      data: {
        cert_auth_mount_point: options.mountPoint,
        cert_auth_role_name: options.role,
        client_cert_path: client.certPath,
        client_key_path: client.keyPath,
      },
      env: [],
      volumes: [client.volume],
      checks: [['auth.secretName', checkDnsSubdomain(options.secretName)]],
    });
  }

  private constructor(private readonly model: VaultAuthModel) {}

  /** @internal */
  public _model(): VaultAuthModel {
    return this.model;
  }
}

/** Signing algorithms AWS Private CA signs with. */
export enum AwsPcaSigningAlgorithm {
  SHA256_WITH_ECDSA = 'SHA256WITHECDSA',
  SHA384_WITH_ECDSA = 'SHA384WITHECDSA',
  SHA512_WITH_ECDSA = 'SHA512WITHECDSA',
  SHA256_WITH_RSA = 'SHA256WITHRSA',
  SHA384_WITH_RSA = 'SHA384WITHRSA',
  SHA512_WITH_RSA = 'SHA512WITHRSA',
  SM3_WITH_SM2 = 'SM3WITHSM2',
  ML_DSA_44 = 'ML_DSA_44',
  ML_DSA_65 = 'ML_DSA_65',
  ML_DSA_87 = 'ML_DSA_87',
}

/**
 * An AWS Private CA certificate template for the server's CA, by the path
 * length it allows below that CA (how many CAs may follow it in a chain).
 */
export class AwsPcaCaTemplate {
  /**
   * AWS's `SubordinateCACertificate_PathLen<n>/V1`, in the partition of the
   * private CA's ARN: `pathLength` CAs may sit below the server's, e.g. 1 for
   * downstream or nested SPIRE servers one level deep. AWS offers 0 to 3.
   */
  public static subordinate(pathLength: number): AwsPcaCaTemplate {
    requireProps('AwsPcaCaTemplate.subordinate', { pathLength }, [['pathLength', 'number', 'the CA levels allowed below the server\'s CA, e.g. 1']]);
    return new AwsPcaCaTemplate(pathLength, (partition) => `arn:${partition}:acm-pca:::template/${SUBORDINATE_TEMPLATE}${pathLength}/V1`);
  }

  /**
   * Any template by its ARN, e.g. a `BlankSubordinateCACertificate_PathLen1_APIPassthrough/V1`
   * one; its path length is read from the `PathLen<n>` in its name, when it has one.
   */
  public static fromArn(arn: string): AwsPcaCaTemplate {
    requireProps('AwsPcaCaTemplate.fromArn', { arn }, [['arn', 'string', 'the template\'s ARN, e.g. "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen1/V1"']]);
    return new AwsPcaCaTemplate(templatePathLength(arn), () => arn, arn);
  }

  /**
   * @param pathLength the CAs the template allows below the server's; undefined when its name does not say
   */
  private constructor(
    public readonly pathLength: number | undefined,
    private readonly arnIn: (partition: string) => string,
    private readonly givenArn?: string,
  ) {}

  /**
   * The template's ARN in the partition of the private CA.
   * @internal
   */
  public _arn(partition: string): string {
    return this.arnIn(partition);
  }

  /** @internal */
  public _checks(): Check[] {
    if (this.givenArn !== undefined) {
      return [['caSigningTemplate', PCA_TEMPLATE_ARN.test(this.givenArn) ? undefined : {
        value: this.givenArn,
        rule: 'a certificate template ARN looks like "arn:aws:acm-pca:::template/<name>/V<n>"',
        fix: 'use AwsPcaCaTemplate.subordinate(pathLength), or a template ARN from AWS Private CA',
      }]];
    }
    const pathLength = this.pathLength ?? -1;
    return [['caSigningTemplate', Number.isInteger(pathLength) && pathLength >= 0 && pathLength <= MAX_PCA_PATH_LENGTH ? undefined : {
      value: String(this.pathLength),
      rule: `AWS Private CA has subordinate CA templates for path lengths 0 to ${MAX_PCA_PATH_LENGTH}`,
      fix: 'use the number of CA levels below the server\'s CA, e.g. 1 for downstream or nested SPIRE servers',
    }]];
  }
}

/** The path length in a template's name (`...PathLen<n>...`); undefined when it has none. */
export function templatePathLength(arn: string): number | undefined {
  const match = /PathLen([0-9]+)/.exec(arn);
  return match ? Number(match[1]) : undefined;
}

/**
 * SPIRE's template when `ca_signing_template_arn` is not set, which allows no CA
 * below the server's (`pkg/server/plugin/upstreamauthority/awspca/pca.go`, v1.15.3).
 */
export const DEFAULT_PCA_TEMPLATE_ARN = 'arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1';
const SUBORDINATE_TEMPLATE = 'SubordinateCACertificate_PathLen';
const MAX_PCA_PATH_LENGTH = 3;

/**
 * Options of the `aws_pca` upstream authority. SPIRE finds AWS credentials
 * through the default chain, e.g. IAM Roles for Service Accounts set with the
 * server's `serviceAccountAnnotations`.
 */
export interface AwsPcaUpstreamOptions {
  /** AWS region of the private CA, e.g. `eu-west-1`. */
  readonly region: string;
  /** ARN of the private CA, in `region`. */
  readonly certificateAuthorityArn: string;
  /**
   * The certificate template the server's CA is issued with
   * (`ca_signing_template_arn`). Its path length caps the CAs below the
   * server's: downstream entries and nested SPIRE servers need at least 1.
   * @default SPIRE's, AwsPcaCaTemplate.subordinate(0): no CA below the server's, which `check` and the synth warn about when the output has one
   */
  readonly caSigningTemplate?: AwsPcaCaTemplate;
  /** @default the private CA's own signing algorithm */
  readonly signingAlgorithm?: AwsPcaSigningAlgorithm;
  /** ARN of an IAM role to assume. @default none */
  readonly assumeRoleArn?: string;
  /** URL of the AWS Private CA endpoint, e.g. a VPC endpoint. @default AWS's endpoint of the region */
  readonly endpoint?: string;
  /**
   * Secret key holding further roots (PEM) SPIRE adds to the trust bundle
   * (`supplemental_bundle_path`), e.g. the next root of a CA change; mounted read-only.
   * @default none: the private CA's chain only
   */
  readonly supplementalBundleSecret?: SecretKeyRef;
}

/** Options of the `ejbca` upstream authority: EJBCA issues the server's CA over its REST API, with mTLS. */
export interface EjbcaUpstreamOptions {
  /** Host name of the EJBCA server, with a port when it is not 443, e.g. `ejbca.example.com`. */
  readonly hostname: string;
  /** Name of the EJBCA CA that signs the server's CA. */
  readonly caName: string;
  /** End entity profile the requests use. */
  readonly endEntityProfileName: string;
  /** Certificate profile of intermediate CA certificates the requests use. */
  readonly certificateProfileName: string;
  /** `kubernetes.io/tls` Secret holding the client certificate (`tls.crt`) and key (`tls.key`) the server authenticates with. */
  readonly clientCertSecretName: string;
  /** CA certificate (PEM) that EJBCA's TLS certificate chains to. @default the system roots of the server image */
  readonly caCertSecret?: SecretKeyRef;
  /** End entity name, or how SPIRE derives it (see SPIRE's ejbca plugin). @default SPIRE's own: the certificate's common name */
  readonly endEntityName?: string;
  /** EJBCA account binding ID the issued certificates are associated with. @default none */
  readonly accountBindingId?: string;
}

/**
 * Options of the `awssecret` upstream authority: the CA certificate and key
 * are read from AWS Secrets Manager. SPIRE finds AWS credentials through the
 * default chain, e.g. IAM Roles for Service Accounts.
 */
export interface AwsSecretUpstreamOptions {
  /** AWS region of the secrets, e.g. `eu-west-1`. */
  readonly region: string;
  /** ARN or name of the secret holding the CA certificate (PEM). */
  readonly certFileArn: string;
  /** ARN or name of the secret holding the CA's private key (PEM). */
  readonly keyFileArn: string;
  /** ARN or name of the secret holding the roots the certificate chains up to. @default none: the certificate is a self-signed root */
  readonly bundleFileArn?: string;
  /** ARN of an IAM role to assume. @default none */
  readonly assumeRoleArn?: string;
}

/**
 * Options of the `spire` upstream authority (nested SPIRE): an upstream SPIRE
 * server of the same trust domain signs this server's CA. The server fetches
 * its own SVID from an agent of the upstream server, whose Workload API socket
 * directory a SPIFFE CSI driver of that agent mounts into the server pod; the
 * upstream server needs a `downstream` registration entry for this server.
 */
export interface SpireUpstreamOptions {
  /** Host name or address of the upstream SPIRE server. */
  readonly serverAddress: string;
  /** Port of the upstream SPIRE server. @default 8081 */
  readonly serverPort?: number;
  /**
   * Name of the CSI driver that serves the upstream agent's Workload API
   * socket directory. It is not the driver of this server's own agent, whose
   * SVIDs this server signs.
   */
  readonly csiDriverName: string;
  /** File name of the upstream agent's socket in that directory. @default "socket" */
  readonly socketFileName?: string;
}

/** A projected service account token: its audience, lifetime and where the server reads it. */
export interface ProjectedTokenModel {
  readonly audience: string;
  readonly expirationSeconds: number;
  readonly mountPath: string;
  readonly file: string;
}

/** One Vault auth method: its block in `plugin_data` and what the server needs for it. */
interface VaultAuthModel {
  readonly block: string;
  readonly data: object;
  readonly projectedToken?: ProjectedTokenModel;
  readonly env: SecretEnvModel[];
  readonly volumes: SecretVolumeModel[];
  readonly checks: Check[];
}

/** What the server needs besides the plugin block: volumes, variables, RBAC and the checks of the options. */
export interface UpstreamAuthorityModel {
  readonly pluginName: string;
  readonly pluginData: object;
  /** A service account token the server reads as `<mountPath>/<file>`, for an audience other than the API server. */
  readonly projectedToken?: ProjectedTokenModel;
  readonly secretVolumes: SecretVolumeModel[];
  readonly secretEnv: SecretEnvModel[];
  /** CSI driver whose volume holds the upstream agent's Workload API socket, mounted at `WORKLOAD_API_DIR`. */
  readonly workloadApiCsiDriver?: string;
  /** Namespace in which the server creates cert-manager CertificateRequests. */
  readonly certificateRequestNamespace?: string;
  readonly checks: Check[];
}

/** Where the server finds upstream CA files and client credentials from Secrets. */
const UPSTREAM_SECRETS_DIR = '/run/spire/upstream';
/** Where the upstream agent's Workload API socket directory is mounted in nested SPIRE. */
export const WORKLOAD_API_DIR = '/run/spire/upstream-agent';
const DEFAULT_VAULT_TOKEN_AUDIENCE = 'vault';
const DEFAULT_VAULT_TOKEN_EXPIRATION = Duration.minutes(10);
/** The API server's bounds of `expirationSeconds`: 10 minutes to 2^32 seconds. */
const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
const TLS_CERT_KEY = 'tls.crt';
const TLS_KEY_KEY = 'tls.key';
const CERT_MANAGER_GROUP = 'cert-manager.io';
const CERT_MANAGER_KINDS = ['Issuer', 'ClusterIssuer'];

/**
 * The upstream CA that signs the SPIRE server's intermediate CA (SPIRE's
 * UpstreamAuthority plugin), so SVIDs chain to an existing PKI.
 */
export class UpstreamAuthority {
  /**
   * A CA certificate and key from a Secret, mounted read-only into the server.
   * SPIRE re-reads them on each CA rotation, so replacing the Secret rotates the upstream CA.
   */
  public static disk(options: DiskUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.disk', options, [['secretName', 'string', 'the Secret holding the upstream CA\'s certificate and key, e.g. "upstream-ca"']]);
    const certKey = options.certFileKey ?? TLS_CERT_KEY;
    const keyKey = options.keyFileKey ?? TLS_KEY_KEY;
    const bundleKey = options.bundleFileKey;
    const dir = `${UPSTREAM_SECRETS_DIR}/ca`;
    const keys = [certKey, keyKey, ...(bundleKey === undefined ? [] : [bundleKey])];
    return new UpstreamAuthority({
      pluginName: 'disk',
      pluginData: {
        cert_file_path: `${dir}/${certKey}`,
        key_file_path: `${dir}/${keyKey}`,
        bundle_file_path: bundleKey === undefined ? undefined : `${dir}/${bundleKey}`,
      },
      secretVolumes: [{ secretName: options.secretName, mountPath: dir, keys }],
      secretEnv: [],
      checks: [
        ['secretName', checkDnsSubdomain(options.secretName)],
        ...keys.map((key): Check => ['secret key', checkSecretKey(key)]),
        ['keyFileKey', keyKey === certKey || keyKey === bundleKey ? {
          value: keyKey,
          rule: 'the private key and the certificates are separate files of the Secret',
          fix: 'set keyFileKey to the key holding the CA\'s private key, e.g. "tls.key"',
        } : undefined],
        ['bundleFileKey', bundleKey === certKey ? {
          value: bundleKey,
          rule: 'the bundle holds the roots an intermediate CA certificate chains up to; a self-signed root needs none',
          fix: 'leave bundleFileKey unset for a self-signed root, or point it at the key holding the roots',
        } : undefined],
      ],
    });
  }

  /** A cert-manager issuer, through CertificateRequests in a namespace the server gets a Role in. */
  public static certManager(options: CertManagerUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.certManager', options, [
      ['issuerName', 'string', 'the cert-manager Issuer or ClusterIssuer that signs the server\'s CA'],
      ['namespace', 'string', 'the namespace the server creates its CertificateRequests in, e.g. "spire-upstream"'],
    ]);
    const group = options.issuerGroup ?? CERT_MANAGER_GROUP;
    const kind = options.issuerKind ?? 'Issuer';
    return new UpstreamAuthority({
      pluginName: 'cert-manager',
      pluginData: {
        namespace: options.namespace,
        issuer_name: options.issuerName,
        issuer_kind: kind,
        issuer_group: group,
      },
      secretVolumes: [],
      secretEnv: [],
      certificateRequestNamespace: options.namespace,
      checks: [
        ['issuerName', checkNotEmpty(options.issuerName, 'the cert-manager Issuer or ClusterIssuer that signs the server\'s CA') ?? checkDnsSubdomain(options.issuerName)],
        ['namespace', checkDnsLabel(options.namespace)],
        ['issuerGroup', checkDnsSubdomain(group)],
        ['issuerKind', group === CERT_MANAGER_GROUP && !CERT_MANAGER_KINDS.includes(kind) ? {
          value: kind,
          rule: `cert-manager's own issuers (group ${CERT_MANAGER_GROUP}) are of kind ${CERT_MANAGER_KINDS.join(' or ')}`,
          fix: 'set issuerKind to "Issuer" or "ClusterIssuer", or issuerGroup to the group of your external issuer',
        } : undefined],
      ],
    });
  }

  /** Vault's PKI secrets engine. */
  public static vault(options: VaultUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.vault', options, [
      ['vaultAddr', 'string', 'the URL of the Vault server, e.g. "https://vault.example.com:8200/"'],
      ['auth', VaultAuth, 'how the server logs in: VaultAuth.kubernetes({ role }), VaultAuth.token(secret), VaultAuth.appRole(...) or VaultAuth.certificate(...)'],
    ]);
    if (options.caCertSecret !== undefined) requireSecretKeyRef('UpstreamAuthority.vault', 'caCertSecret', options.caCertSecret);
    const auth = options.auth._model();
    const ca = options.caCertSecret;
    const caFile = ca === undefined ? undefined : secretKeyFile(`${UPSTREAM_SECRETS_DIR}/vault-ca`, ca);
    return new UpstreamAuthority({
      pluginName: 'vault',
      pluginData: {
        vault_addr: options.vaultAddr,
        namespace: options.vaultNamespace,
        pki_mount_point: options.pkiMountPoint,
        ca_cert_path: caFile?.path,
        [auth.block]: auth.data,
      },
      secretVolumes: [...(caFile === undefined ? [] : [caFile.volume]), ...auth.volumes],
      secretEnv: auth.env,
      projectedToken: auth.projectedToken,
      checks: [
        ['vaultAddr', checkHttpUrl(options.vaultAddr, 'the Vault address', 'https://vault.example.com:8200/')],
        ['pkiMountPoint', options.pkiMountPoint === undefined ? undefined : checkNotEmpty(options.pkiMountPoint, 'the mount point of the PKI secrets engine')],
        ...(ca === undefined ? [] : secretKeyChecks('caCertSecret', ca)),
        ...auth.checks,
      ],
    });
  }

  /** AWS Private Certificate Authority. */
  public static awsPca(options: AwsPcaUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.awsPca', options, [
      ['region', 'string', 'the AWS region of the private CA, e.g. "eu-west-1"'],
      ['certificateAuthorityArn', 'string', 'the ARN of the private CA'],
    ]);
    const supplemental = options.supplementalBundleSecret;
    if (supplemental !== undefined) requireSecretKeyRef('UpstreamAuthority.awsPca', 'supplementalBundleSecret', supplemental);
    const supplementalFile = supplemental === undefined ? undefined : secretKeyFile(`${UPSTREAM_SECRETS_DIR}/supplemental-bundle`, supplemental);
    return new UpstreamAuthority({
      pluginName: 'aws_pca',
      pluginData: {
        region: options.region,
        endpoint: options.endpoint,
        certificate_authority_arn: options.certificateAuthorityArn,
        ca_signing_template_arn: options.caSigningTemplate?._arn(arnPartition(options.certificateAuthorityArn)),
        signing_algorithm: options.signingAlgorithm,
        assume_role_arn: options.assumeRoleArn,
        supplemental_bundle_path: supplementalFile?.path,
      },
      secretVolumes: supplementalFile === undefined ? [] : [supplementalFile.volume],
      secretEnv: [],
      checks: [
        ['region', checkAwsRegion(options.region, 'the private CA')],
        ['certificateAuthorityArn', checkCaArn(options.certificateAuthorityArn, options.region)],
        ...(options.caSigningTemplate?._checks() ?? []),
        ['assumeRoleArn', checkIamRoleArn(options.assumeRoleArn)],
        ['endpoint', options.endpoint === undefined ? undefined : checkHttpUrl(options.endpoint, 'the AWS Private CA endpoint', 'https://acm-pca.eu-west-1.amazonaws.com')],
        ...(supplemental === undefined ? [] : secretKeyChecks('supplementalBundleSecret', supplemental)),
      ],
    });
  }

  /** EJBCA, over its REST API with a client certificate from a `kubernetes.io/tls` Secret. */
  public static ejbca(options: EjbcaUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.ejbca', options, [
      ['hostname', 'string', 'the host name of the EJBCA server, e.g. "ejbca.example.com"'],
      ['caName', 'string', 'the name of the EJBCA CA that signs the server\'s CA'],
      ['endEntityProfileName', 'string', 'the end entity profile of the requests'],
      ['certificateProfileName', 'string', 'the certificate profile of the requests'],
      ['clientCertSecretName', 'string', 'the kubernetes.io/tls Secret holding the client certificate, e.g. "ejbca-client"'],
    ]);
    if (options.caCertSecret !== undefined) requireSecretKeyRef('UpstreamAuthority.ejbca', 'caCertSecret', options.caCertSecret);
    const ca = options.caCertSecret;
    const client = tlsSecretFiles(`${UPSTREAM_SECRETS_DIR}/ejbca-client`, options.clientCertSecretName);
    const caFile = ca === undefined ? undefined : secretKeyFile(`${UPSTREAM_SECRETS_DIR}/ejbca-ca`, ca);
    return new UpstreamAuthority({
      pluginName: 'ejbca',
      pluginData: {
        hostname: options.hostname,
        ca_cert_path: caFile?.path,
        client_cert_path: client.certPath,
        client_cert_key_path: client.keyPath,
        ca_name: options.caName,
        end_entity_profile_name: options.endEntityProfileName,
        certificate_profile_name: options.certificateProfileName,
        end_entity_name: options.endEntityName,
        account_binding_id: options.accountBindingId,
      },
      secretVolumes: [client.volume, ...(caFile === undefined ? [] : [caFile.volume])],
      secretEnv: [],
      checks: [
        ['hostname', HOST_PORT.test(options.hostname) ? undefined : {
          value: options.hostname,
          rule: 'the EJBCA host is a host name or address with an optional port, without scheme or path',
          fix: 'write it like "ejbca.example.com" or "ejbca.example.com:8443"',
        }],
        ['caName', checkNotEmpty(options.caName, 'the name of the EJBCA CA')],
        ['endEntityProfileName', checkNotEmpty(options.endEntityProfileName, 'the end entity profile')],
        ['certificateProfileName', checkNotEmpty(options.certificateProfileName, 'the certificate profile')],
        ['clientCertSecretName', checkDnsSubdomain(options.clientCertSecretName)],
        ...(ca === undefined ? [] : secretKeyChecks('caCertSecret', ca)),
      ],
    });
  }

  /** A CA certificate and key from AWS Secrets Manager. */
  public static awsSecret(options: AwsSecretUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.awsSecret', options, [
      ['region', 'string', 'the AWS region of the secrets, e.g. "eu-west-1"'],
      ['certFileArn', 'string', 'the ARN or name of the secret holding the CA certificate'],
      ['keyFileArn', 'string', 'the ARN or name of the secret holding the CA\'s private key'],
    ]);
    return new UpstreamAuthority({
      pluginName: 'awssecret',
      pluginData: {
        region: options.region,
        cert_file_arn: options.certFileArn,
        key_file_arn: options.keyFileArn,
        bundle_file_arn: options.bundleFileArn,
        assume_role_arn: options.assumeRoleArn,
      },
      secretVolumes: [],
      secretEnv: [],
      checks: [
        ['region', checkAwsRegion(options.region, 'the secrets')],
        ['certFileArn', checkNotEmpty(options.certFileArn, 'the secret holding the CA certificate')],
        ['keyFileArn', checkNotEmpty(options.keyFileArn, 'the secret holding the CA\'s private key') ?? (options.keyFileArn === options.certFileArn ? {
          value: options.keyFileArn,
          rule: 'the private key and the certificate are separate secrets',
          fix: 'set keyFileArn to the secret holding the CA\'s private key',
        } : undefined)],
        ['assumeRoleArn', checkIamRoleArn(options.assumeRoleArn)],
      ],
    });
  }

  /** An upstream SPIRE server of the same trust domain (nested SPIRE). */
  public static spire(options: SpireUpstreamOptions): UpstreamAuthority {
    requireProps('UpstreamAuthority.spire', options, [
      ['serverAddress', 'string', 'the host name of the upstream SPIRE server, e.g. "spire-server.spire-root.svc"'],
      ['csiDriverName', 'string', 'the CSI driver that serves the upstream agent\'s socket directory, e.g. "csi.root.spiffe.io"'],
    ]);
    const port = options.serverPort ?? 8081;
    const socketFile = options.socketFileName ?? 'socket';
    return new UpstreamAuthority({
      pluginName: 'spire',
      pluginData: {
        server_address: options.serverAddress,
        server_port: String(port),
        workload_api_socket: `${WORKLOAD_API_DIR}/${socketFile}`,
      },
      secretVolumes: [],
      secretEnv: [],
      workloadApiCsiDriver: options.csiDriverName,
      checks: [
        ['serverAddress', HOST.test(options.serverAddress) ? undefined : {
          value: options.serverAddress,
          rule: 'the upstream server address is a host name or IPv4 address, without scheme or port',
          fix: 'write it like "spire-server.spire-root.svc" and set serverPort separately',
        }],
        ['serverPort', checkPort(port)],
        ['csiDriverName', checkDnsSubdomain(options.csiDriverName)],
        ['socketFileName', isFileName(socketFile) ? undefined : {
          value: socketFile,
          rule: 'the socket file name is one path segment of letters, digits, "-", "_" and "."',
          fix: 'use the file name of the upstream agent\'s socket_path, e.g. "socket" or "agent.sock"',
        }],
      ],
    });
  }

  /** SPIRE's name of the plugin, e.g. `disk`. */
  public readonly pluginName: string;
  private readonly model: UpstreamAuthorityModel;

  private constructor(model: UpstreamAuthorityModel) {
    this.pluginName = model.pluginName;
    this.model = model;
  }

  /** @internal */
  public _model(): UpstreamAuthorityModel {
    return this.model;
  }
}

const PCA_TEMPLATE_ARN = /^arn:aws[a-z-]*:acm-pca:::template\/[A-Za-z0-9_]+\/V[0-9]+$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/;
const CA_ARN = /^arn:aws[a-z-]*:acm-pca:([a-z0-9-]+):[0-9]{12}:certificate-authority\/[0-9a-f-]+$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const HOST_PORT = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;

function checkIamRoleArn(value: string | undefined): Problem | undefined {
  if (value === undefined || IAM_ROLE_ARN.test(value)) return undefined;
  return { value, rule: 'an IAM role ARN looks like "arn:aws:iam::<account>:role/<name>"', fix: 'copy the role\'s ARN from IAM' };
}

function checkTokenExpiration(seconds: number): Problem | undefined {
  if (Number.isInteger(seconds) && seconds >= MIN_TOKEN_EXPIRATION_SECONDS && seconds <= MAX_TOKEN_EXPIRATION_SECONDS) return undefined;
  return {
    value: `${seconds}s`,
    rule: 'the API server issues projected tokens for whole seconds from 10 minutes to 2^32 seconds, and refuses the pod otherwise',
    fix: 'use e.g. Duration.minutes(10) or Duration.hours(1)',
  };
}

function checkNotEmpty(value: string, what: string): Problem | undefined {
  if (value.length > 0) return undefined;
  return { value, rule: `${what} must be given`, fix: `set it to ${what}` };
}


/** The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`, ...); `aws` when it is none, which its own check reports. */
function arnPartition(arn: string): string {
  return /^arn:(aws[a-z-]*):/.exec(arn)?.[1] ?? 'aws';
}

function checkCaArn(value: string, region: string): Problem | undefined {
  const match = CA_ARN.exec(value);
  if (!match) {
    return { value, rule: 'a private CA ARN looks like "arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>"', fix: 'copy the ARN of the private CA from AWS Private CA' };
  }
  if (match[1] !== region) {
    return { value, rule: `the private CA is in region ${match[1]}, but SPIRE calls region ${region}`, fix: `set region to "${match[1]}", or use a private CA in ${region}` };
  }
  return undefined;
}
