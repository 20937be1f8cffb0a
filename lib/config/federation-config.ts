import * as fs from 'fs';
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { Problem } from '../validation/rules';
import { requireProps } from '../validation/required';
import { ServiceType } from '../kube/service-type';

/**
 * SPIRE federation: the bundle endpoint a server serves its trust bundle on
 * (`server.federation.bundle_endpoint` in server.conf) and the profiles a
 * partner's endpoint is authenticated with (the ClusterFederatedTrustDomain's
 * `bundleEndpointProfile`).
 */

/** How a bundle endpoint authenticates itself, as SPIRE names the profile in both places. */
export enum FederationProfileType {
  /** The endpoint presents the server's own X509-SVID; clients need its trust bundle once to start. */
  HTTPS_SPIFFE = 'https_spiffe',
  /** The endpoint presents a Web PKI certificate that clients verify against their system roots. */
  HTTPS_WEB = 'https_web',
}

/** An ACME account for the `https_web` profile's certificate. */
export interface AcmeOptions {
  /** DNS name the certificate is issued for; the ACME CA must reach the endpoint under it. */
  readonly domainName: string;
  /** Contact address of the ACME account. */
  readonly email: string;
  /** You accept the ACME CA's terms of service; without it no certificate is issued. */
  readonly tosAccepted: boolean;
  /** @default "https://acme-v02.api.letsencrypt.org/directory" (Let's Encrypt) */
  readonly directoryUrl?: string;
}

/** A certificate in a Kubernetes TLS Secret for the `https_web` profile. */
export interface ServingCertOptions {
  /** A `kubernetes.io/tls` Secret in the server's namespace; its `tls.crt` and `tls.key` are mounted. */
  readonly secretName: string;
  /** How often the server reads the files again, for rotated certificates (Go duration). @default "1h" (SPIRE's default) */
  readonly fileSyncInterval?: string;
}

const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';

/** The profile a server's own bundle endpoint serves with. */
export class BundleEndpointProfile {
  /** Serve with the server's X509-SVID (`spiffe://<trust domain>/spire/server`). */
  public static httpsSpiffe(): BundleEndpointProfile {
    return new BundleEndpointProfile(FederationProfileType.HTTPS_SPIFFE);
  }

  /** Serve with a Web PKI certificate that the server obtains over ACME. */
  public static httpsWebAcme(acme: AcmeOptions): BundleEndpointProfile {
    requireProps('BundleEndpointProfile.httpsWebAcme', acme, [
      ['domainName', 'string', 'the DNS name the certificate is issued for, e.g. "spire-bundle.example.org"'],
      ['email', 'string', 'the contact address of the ACME account'],
      ['tosAccepted', 'boolean', 'true once you accept the ACME CA\'s terms of service'],
    ]);
    return new BundleEndpointProfile(FederationProfileType.HTTPS_WEB, { ...acme, directoryUrl: acme.directoryUrl ?? LETS_ENCRYPT });
  }

  /** Serve with a Web PKI certificate from a Kubernetes TLS Secret, e.g. one cert-manager keeps. */
  public static httpsWebServingCert(cert: ServingCertOptions): BundleEndpointProfile {
    requireProps('BundleEndpointProfile.httpsWebServingCert', cert, [['secretName', 'string', 'the kubernetes.io/tls Secret holding the certificate, e.g. "spire-bundle-tls"']]);
    return new BundleEndpointProfile(FederationProfileType.HTTPS_WEB, undefined, { ...cert, fileSyncInterval: cert.fileSyncInterval ?? '1h' });
  }

  /**
   * @param type the profile
   * @param acme the ACME account, for `https_web` with ACME
   * @param servingCert the certificate Secret, for `https_web` with a certificate file
   */
  private constructor(
    public readonly type: FederationProfileType,
    public readonly acme?: AcmeOptions,
    public readonly servingCert?: ServingCertOptions,
  ) {}
}

/** A partner bundle as read at synth: its SPIFFE-format JSON, or why it cannot be used. */
interface PartnerBundleContent {
  readonly json?: string;
  readonly problem?: Problem;
}

const BUNDLE_FIX = 'use the output of `spire-server bundle show -format spiffe` on the partner';

/**
 * A partner trust domain's bundle known at synth, which the
 * ClusterFederatedTrustDomain carries (`trustDomainBundle`), so that the
 * server holds it before any identity federates with the partner.
 */
export class PartnerBundle {
  /** The bundle in SPIFFE format, as `spire-server bundle show -format spiffe` prints it on the partner. */
  public static fromSpiffeJson(json: string): PartnerBundle {
    requireProps('PartnerBundle.fromSpiffeJson', { json }, [['json', 'string', `the bundle as text; ${BUNDLE_FIX}`]]);
    return new PartnerBundle('inline bundle', () => checkedBundle(json));
  }

  /** A file holding the bundle in SPIFFE format, read at synth; a relative path is taken from the working directory. */
  public static fromFile(path: string): PartnerBundle {
    requireProps('PartnerBundle.fromFile', { path }, [['path', 'string', 'the path of the saved bundle, e.g. "partner-bundle.json"']]);
    return new PartnerBundle(`file ${path}`, () => {
      if (!fs.existsSync(path)) {
        return { problem: { value: path, rule: 'the bundle file does not exist', fix: `save the partner's bundle there: spire-server bundle show -format spiffe > ${path}` } };
      }
      return checkedBundle(fs.readFileSync(path, 'utf8'));
    });
  }

  /**
   * A key of a ConfigMap of this app that holds the bundle in SPIFFE format,
   * e.g. one an Include loads from a manifest exported from the partner.
   */
  public static fromConfigMap(configMap: IConstruct, key: string): PartnerBundle {
    requireProps('PartnerBundle.fromConfigMap', { configMap, key }, [
      ['configMap', 'object', 'the ConfigMap construct of this app that holds the bundle'],
      ['key', 'string', 'the ConfigMap key that holds the bundle, e.g. "bundle.spiffe"'],
    ]);
    return new PartnerBundle(`ConfigMap ${configMap.node.path} key ${key}`, () => {
      const json = ApiObject.of(configMap).toJson();
      const value = json.kind === 'ConfigMap' ? json.data?.[key] : undefined;
      if (typeof value === 'string') return checkedBundle(value);
      return { problem: { value: `${json.kind} ${json.metadata?.name} key ${key}`, rule: 'it is no ConfigMap with this key in data', fix: `pass the ConfigMap that holds the partner's bundle under "${key}"` } };
    });
  }

  private readonly load: () => PartnerBundleContent;

  /**
   * @param description where the bundle comes from, as messages name it
   */
  private constructor(public readonly description: string, load: () => PartnerBundleContent) {
    this.load = load;
  }

  /**
   * The bundle's JSON, or the problem with its source.
   * @internal
   */
  public _read(): PartnerBundleContent {
    return this.load();
  }
}

/** The controller manager reads the bundle in SPIFFE bundle format, a JSON object with "keys". */
function checkedBundle(value: string): PartnerBundleContent {
  try {
    if (Array.isArray(JSON.parse(value)?.keys)) return { json: value };
  } catch {
    // Reported below.
  }
  return {
    problem: {
      value: value.length > 40 ? `${value.slice(0, 40)}…` : value,
      rule: 'the controller manager reads the bundle in SPIFFE bundle format, a JSON object with "keys"',
      fix: BUNDLE_FIX,
    },
  };
}

/**
 * A trust domain to federate with: where its bundle endpoint is and how it
 * authenticates. `SpireServer.federationPartner` gives these values for a
 * server of this app; write them out for any other SPIFFE implementation.
 */
export interface FederationPartner {
  /** The partner's trust domain, e.g. `west.example.org`. */
  readonly trustDomain: string;
  /** HTTPS URL of the partner's bundle endpoint, as reachable from this cluster's SPIRE server. */
  readonly bundleEndpointUrl: string;
  /** The profile the partner's endpoint serves with. */
  readonly profile: FederationProfileType;
  /** SPIFFE ID the endpoint presents; required for `https_spiffe`, absent for `https_web`. @default none */
  readonly endpointSpiffeId?: string;
  /**
   * The partner's bundle, known at synth: ClusterFederatedTrustDomains of
   * this partner carry it, so identities may federate with it in the same stage.
   * @default unknown: identities that federate with the partner need a stage after the bundle is set by hand
   */
  readonly bundle?: PartnerBundle;
}

/** The bundle endpoint a SpireServer serves its trust bundle on, for partners to fetch. */
export interface BundleEndpointOptions {
  /**
   * How partner servers reach the endpoint, e.g.
   * `https://spire-bundle.east.example.org:8443`: the address the Service gets
   * outside the cluster (load balancer, node address or a DNS name for either).
   * Partners' ClusterFederatedTrustDomains use it.
   */
  readonly url: string;
  /** Type of the Service in front of the endpoint; partners in other clusters must reach it. */
  readonly serviceType: ServiceType;
  /** Port the server listens on for the endpoint, inside its pod. @default 8443 */
  readonly port?: number;
  /**
   * Port of the Service, which partners (and, with
   * `BundleEndpointProfile.httpsWebAcme`, the ACME CA's challenge) dial; 443
   * with ACME. The server keeps listening on `port`, so it needs no privileged port.
   * @default `port`
   */
  readonly servicePort?: number;
  /** IP address the server listens on for the endpoint, inside its pod. @default "0.0.0.0" (every address) */
  readonly address?: string;
  /** @default BundleEndpointProfile.httpsSpiffe() */
  readonly profile?: BundleEndpointProfile;
  /** Name of the Service. @default "<server name>-bundle-endpoint" */
  readonly serviceName?: string;
  /**
   * How often partners should fetch the bundle again (`refresh_hint`, Go
   * duration), from 1 minute (SPIRE partners never fetch more often) to half
   * the time a new CA's key is in the bundle before it signs (8h of the 24h
   * `caTtl`), so that a partner fetches it twice before it is needed.
   * @default SPIRE's own, 5m
   */
  readonly refreshHint?: string;
  /**
   * This server's own bundle as partners start from, when it is known at
   * synth (e.g. exported to a file once the server ran): `federationPartner`
   * hands it to the partners of this app.
   * @default unknown
   */
  readonly bundle?: PartnerBundle;
  /**
   * A Gateway API TLSRoute (`gateway.networking.k8s.io/v1`) that sends the
   * connections partners make to `url` from a Gateway to the endpoint's
   * Service, TLS passed through: the server itself presents its SVID
   * (`https_spiffe`) or its web certificate and answers the ACME challenge
   * (`https_web`), which a route that ends TLS at the Gateway would break.
   * The Gateway needs a TLS listener in Passthrough mode on the URL's port,
   * and the cluster the TLSRoute CRD of Gateway API 1.5 or later.
   * @default no route: partners reach the Service as `serviceType` exposes it
   */
  readonly tlsRoute?: BundleEndpointRouteOptions;
}

/** A Gateway a route attaches to (a Gateway API `parentRef`). */
export interface GatewayParentRef {
  /** Name of the Gateway. */
  readonly name: string;
  /** Namespace of the Gateway, which must allow routes from the server's namespace. @default the server's namespace */
  readonly namespace?: string;
  /** Name of the Gateway's listener to attach to. @default every listener of the Gateway that accepts the route */
  readonly sectionName?: string;
}

/** How a TLSRoute brings partners to the bundle endpoint. */
export interface BundleEndpointRouteOptions {
  /** The Gateways, with a TLS listener in Passthrough mode, the route attaches to. */
  readonly parentRefs: GatewayParentRef[];
  /**
   * The names (TLS server names) the route takes connections for; the host of
   * `url` must be one of them, or match a `*.` wildcard among them.
   * @default the host of `url`
   */
  readonly hostnames?: string[];
}

/** What a server's bundle endpoint is, for server.conf. */
export interface BundleEndpointModel {
  readonly address: string;
  readonly port: number;
  readonly profile: BundleEndpointProfile;
  /** Where the serving certificate's files are mounted, for `https_web` with a Secret. */
  readonly servingCertDir: string;
  /** Go duration; unset, SPIRE's default. */
  readonly refreshHint?: string;
}

/** The `federation` block of the server's `server` section. */
export function renderFederation(endpoint: BundleEndpointModel): object {
  return {
    federation: {
      bundle_endpoint: {
        address: endpoint.address,
        port: endpoint.port,
        refresh_hint: endpoint.refreshHint,
        profile: renderProfile(endpoint),
      },
    },
  };
}

function renderProfile(endpoint: BundleEndpointModel): object {
  const { type, acme, servingCert } = endpoint.profile;
  if (type === FederationProfileType.HTTPS_SPIFFE) return { [type]: {} };
  if (acme) {
    return { [type]: { acme: { directory_url: acme.directoryUrl, domain_name: acme.domainName, email: acme.email, tos_accepted: acme.tosAccepted } } };
  }
  return {
    [type]: {
      serving_cert_file: {
        cert_file_path: `${endpoint.servingCertDir}/tls.crt`,
        key_file_path: `${endpoint.servingCertDir}/tls.key`,
        file_sync_interval: servingCert?.fileSyncInterval,
      },
    },
  };
}
