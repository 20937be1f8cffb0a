import { isIP } from 'net';
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  AcmeOptions, BundleEndpointOptions, BundleEndpointProfile, BundleEndpointRouteOptions, FederationPartner, FederationProfileType, GatewayParentRef,
} from '../../config/federation-config';
import { plusServiceType, selectPodLabels } from '../../kube/objects';
import {
  checkBundleEndpointUrl, checkDnsLabel, checkDnsSubdomain, checkGoDuration, checkPort, checkRouteHost, formatGoDuration, goDurationSeconds, Problem, urlHost,
} from '../../validation/rules';
import { Check } from '../../validation/validate';
import { ServerBinding, ServerContribution, ServerMount, ServerPart } from './part';

const PORT_NAME = 'federation';
const SERVING_CERT_DIR = '/run/spire/bundle-endpoint-tls';
const ACME_CHALLENGE_PORT = 443;
/** SPIRE partners fetch a bundle at most once a minute, whatever its hint says. */
const MINIMUM_REFRESH_HINT_SECONDS = 60;
const DAY_SECONDS = 24 * 3600;

/**
 * SPIRE's federation bundle endpoint, behind a Service of its own, so that
 * servers of other trust domains fetch this one's bundle: `https_spiffe` with
 * the server's own SVID, or `https_web` with an ACME certificate or one from
 * a Secret.
 */
export class BundleEndpoint implements ServerPart {
  /** Port the server listens on, inside its pod. */
  public readonly port: number;
  /** Port of the Service, which partners dial. */
  public readonly servicePort: number;
  public readonly serviceName: string;
  private readonly address: string;
  private readonly profile: BundleEndpointProfile;

  constructor(private readonly options: BundleEndpointOptions, serverName: string, private readonly caTtl: string) {
    this.port = options.port ?? 8443;
    this.servicePort = options.servicePort ?? this.port;
    this.serviceName = options.serviceName ?? `${serverName}-bundle-endpoint`;
    this.address = options.address ?? '0.0.0.0';
    this.profile = options.profile ?? BundleEndpointProfile.httpsSpiffe();
  }

  /** The server as the partner of another trust domain's ClusterFederatedTrustDomain. */
  public partner(trustDomain: string, serverSpiffeId: string): FederationPartner {
    const profile = this.profile.type;
    return {
      trustDomain,
      bundleEndpointUrl: this.options.url,
      profile,
      endpointSpiffeId: profile === FederationProfileType.HTTPS_SPIFFE ? serverSpiffeId : undefined,
      bundle: this.options.bundle,
    };
  }

  public bind(server: ServerBinding): ServerContribution {
    const portTaken = this.portTaken(server);
    return {
      config: () => ({
        bundleEndpoint: { address: this.address, port: this.port, profile: this.profile, servingCertDir: SERVING_CERT_DIR, refreshHint: this.options.refreshHint },
      }),
      // A port the pod uses already is reported by the checks; adding it twice would fail first.
      ports: portTaken ? [] : [{ name: PORT_NAME, number: this.port }],
      mounts: this.servingCertMounts(server),
      afterStatefulSet: () => this.createService(server),
      checks: () => [
        ['bundleEndpoint.url', checkBundleEndpointUrl(this.options.url)],
        ['bundleEndpoint.port', checkPort(this.port) ?? portTaken],
        // An unset servicePort is the port, checked above.
        ['bundleEndpoint.servicePort', this.options.servicePort === undefined ? undefined : checkPort(this.options.servicePort)],
        ['bundleEndpoint.address', this.checkAddress()],
        ['bundleEndpoint.serviceName', checkDnsLabel(this.serviceName)],
        ['bundleEndpoint.refreshHint', this.options.refreshHint === undefined ? undefined : checkRefreshHint(this.options.refreshHint, this.caTtl)],
        ...this.acmeChecks(server),
        ...this.servingCertChecks(),
        ...(this.options.tlsRoute === undefined ? [] : routeChecks(this.options.tlsRoute, this.options.url)),
      ],
    };
  }

  private createService(server: ServerBinding): void {
    const service = new kplus.Service(server.scope, 'BundleEndpointService', {
      metadata: { name: this.serviceName, namespace: server.namespace },
      type: plusServiceType(this.options.serviceType),
      ports: [{ name: PORT_NAME, port: this.servicePort, targetPort: this.port, protocol: kplus.Protocol.TCP }],
    });
    selectPodLabels(service, server.podLabels);
    if (this.options.tlsRoute !== undefined) this.createTlsRoute(server, this.options.tlsRoute);
  }

  /** Connections for the endpoint's names, from the Gateways' passthrough listeners to the Service. */
  private createTlsRoute(server: ServerBinding, route: BundleEndpointRouteOptions): void {
    new ApiObject(server.scope, 'BundleEndpointTlsRoute', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'TLSRoute',
      metadata: { name: this.serviceName, namespace: server.namespace },
      spec: {
        parentRefs: route.parentRefs.map(({ name, namespace, sectionName }) => ({ name, namespace, sectionName })),
        hostnames: routeHostnames(route, this.options.url),
        rules: [{ backendRefs: [{ name: this.serviceName, port: this.servicePort }] }],
      },
    });
  }

  private servingCertMounts(server: ServerBinding): ServerMount[] {
    const servingCert = this.profile.servingCert;
    if (servingCert === undefined) return [];
    const secret = kplus.Secret.fromSecretName(server.scope, 'BundleEndpointCertSecret', servingCert.secretName);
    return [{ path: SERVING_CERT_DIR, volume: kplus.Volume.fromSecret(server.scope, 'BundleEndpointCertVolume', secret, { name: 'bundle-endpoint-tls' }), readOnly: true }];
  }

  private portTaken(server: ServerBinding): Problem | undefined {
    if (server.serverPorts.includes(this.port)) {
      return { value: String(this.port), rule: 'the server already listens on this port (agent API, health checks or metrics)', fix: 'pick another port, e.g. 8443' };
    }
    // The controller manager shares the pod's network namespace, so its ports are taken too.
    if (server.controllerManagerPorts.includes(this.port)) {
      return {
        value: String(this.port),
        rule: 'the spire-controller-manager container in the same pod already listens on this port (webhook, health checks or metrics)',
        fix: 'pick another port, e.g. 8443',
      };
    }
    return undefined;
  }

  private checkAddress(): Problem | undefined {
    if (isIP(this.address) !== 0) return undefined;
    return {
      value: this.address,
      rule: 'SPIRE listens for the bundle endpoint on an IP address; a host name is not resolved',
      fix: 'leave it out to listen on every address ("0.0.0.0"), or give one of the pod\'s IP addresses',
    };
  }

  private servingCertChecks(): Check[] {
    const servingCert = this.profile.servingCert;
    if (servingCert === undefined) return [];
    return [
      ['bundleEndpoint.profile', checkDnsSubdomain(servingCert.secretName)],
      ['bundleEndpoint.profile', checkGoDuration(servingCert.fileSyncInterval ?? '1h')],
    ];
  }

  private acmeChecks(server: ServerBinding): Check[] {
    const acme = this.profile.acme;
    if (acme === undefined) return [];
    return [
      ['bundleEndpoint.profile', this.checkAcmeDomain(acme)],
      ['bundleEndpoint.profile', this.checkAcmeReachable()],
      ['bundleEndpoint.profile', checkAcmeState(server)],
      ['bundleEndpoint.profile', acme.tosAccepted ? undefined : {
        value: 'tosAccepted: false',
        rule: 'the ACME CA issues no certificate until its terms of service are accepted',
        fix: 'read the CA\'s terms and set tosAccepted: true, or serve with httpsWebServingCert',
      }],
    ];
  }

  private checkAcmeDomain(acme: AcmeOptions): Problem | undefined {
    const host = urlHost(this.options.url);
    if (host === acme.domainName) return undefined;
    return {
      value: acme.domainName,
      rule: `the ACME certificate is issued for this name, but partners dial ${host} (bundleEndpoint.url), so their TLS check fails`,
      fix: 'use the host of bundleEndpoint.url as the ACME domainName',
    };
  }

  /** SPIRE's ACME client answers only the TLS-ALPN-01 challenge, which the CA sends to port 443 of the domain. */
  private checkAcmeReachable(): Problem | undefined {
    const urlPort = portOf(this.options.url);
    if (this.servicePort === ACME_CHALLENGE_PORT && urlPort === ACME_CHALLENGE_PORT) return undefined;
    return {
      value: `servicePort ${this.servicePort}, URL port ${urlPort}`,
      rule: `the ACME CA proves the domain with the TLS-ALPN-01 challenge on port ${ACME_CHALLENGE_PORT}, the only one SPIRE answers, but the Service serves the endpoint on port ${this.servicePort} and partners dial port ${urlPort}`,
      fix: `set bundleEndpoint.servicePort to ${ACME_CHALLENGE_PORT} and leave the port out of bundleEndpoint.url, or serve with httpsWebServingCert`,
    };
  }
}

const routeHostnames = (route: BundleEndpointRouteOptions, url: string): string[] => route.hostnames ?? [urlHost(url)];

/** Whether a Gateway API hostname takes connections for a name: the same, or a `*.` wildcard over one or more labels. */
const hostnameCovers = (hostname: string, name: string): boolean =>
  hostname === name || (hostname.startsWith('*.') && name.endsWith(hostname.slice(1)));

function routeChecks(route: BundleEndpointRouteOptions, url: string): Check[] {
  const hostnames = routeHostnames(route, url);
  return [
    ['bundleEndpoint.tlsRoute.parentRefs', route.parentRefs.length > 0 ? undefined : {
      value: 'none', rule: 'a route attaches to a Gateway, or no connection reaches it', fix: 'name the Gateway with a TLS passthrough listener, e.g. [{ name: "federation", namespace: "gateways" }]',
    }],
    ...route.parentRefs.flatMap(parentRefChecks),
    ...hostnames.map((hostname): Check => ['bundleEndpoint.tlsRoute.hostnames', checkRouteHostname(hostname)]),
    ['bundleEndpoint.tlsRoute.hostnames', checkUrlRouted(url, hostnames)],
  ];
}

function parentRefChecks(parent: GatewayParentRef): Check[] {
  return [
    ['bundleEndpoint.tlsRoute.parentRefs', checkDnsSubdomain(parent.name)],
    ['bundleEndpoint.tlsRoute.parentRefs', parent.namespace === undefined ? undefined : checkDnsLabel(parent.namespace)],
    ['bundleEndpoint.tlsRoute.parentRefs', parent.sectionName === undefined ? undefined : checkDnsSubdomain(parent.sectionName)],
  ];
}

/** Gateway API hostnames are DNS names, optionally with a leading `*.`; unlike Istio's hosts, never a bare "*". */
function checkRouteHostname(hostname: string): Problem | undefined {
  if (hostname === '*') return { value: hostname, rule: 'a Gateway API hostname is a DNS name, at most with a leading "*." label', fix: 'name the host of bundleEndpoint.url, or its domain as "*.example.org"' };
  return checkRouteHost(hostname);
}

/** A TLSRoute matches the TLS server name partners send, which is the host of the URL they dial. */
function checkUrlRouted(url: string, hostnames: string[]): Problem | undefined {
  const host = urlHost(url);
  // An invalid URL is reported by its own check.
  if (host === '') return undefined;
  if (isIP(host) !== 0) {
    return {
      value: url,
      rule: 'a TLSRoute routes by the TLS server name, which a client does not send for an IP address, so connections from partners match no route',
      fix: 'give bundleEndpoint.url a DNS name that resolves to the Gateway',
    };
  }
  if (hostnames.some((hostname) => hostnameCovers(hostname, host))) return undefined;
  return {
    value: hostnames.join(', '),
    rule: `partners dial ${host} (bundleEndpoint.url) and send it as the TLS server name, which none of the route's hostnames takes`,
    fix: `add "${host}" to tlsRoute.hostnames, or leave hostnames out to route the URL's host`,
  };
}

/**
 * SPIRE's ACME client keeps its account, order and certificate under the
 * replica's data_dir and answers the challenge from its own memory, so only
 * one replica with a volume can hold a certificate.
 */
function checkAcmeState(server: ServerBinding): Problem | undefined {
  const fix = 'serve with `BundleEndpointProfile.httpsWebServingCert({ secretName })`, a kubernetes.io/tls Secret that cert-manager (or another issuer) keeps for every replica';
  if (server.replicas > 1) {
    return {
      value: `ACME with ${server.replicas} replicas`,
      rule: 'each replica runs its own ACME order and answers the TLS-ALPN-01 challenge from its own memory, so the CA\'s validation lands on a replica that does not know it and issuance fails',
      fix,
    };
  }
  if (server.dataOnVolume) return undefined;
  return {
    value: 'ACME without a data volume',
    rule: 'with an external datastore and KeyManager.memory() the data_dir is an emptyDir, so every restart orders a new certificate and runs into the CA\'s rate limits',
    fix: `${fix}, or keep the data_dir on a volume (KeyManager.disk())`,
  };
}

/**
 * SPIRE puts a new CA's key into the bundle when the current CA has half its
 * lifetime left (at most 30 days) and signs with it from a sixth (at most 7
 * days): partners have that long to fetch the key before they meet SVIDs it
 * signed, and should get two chances in it.
 */
function checkRefreshHint(refreshHint: string, caTtl: string): Problem | undefined {
  const hintSeconds = goDurationSeconds(refreshHint);
  if (hintSeconds === undefined) return checkGoDuration(refreshHint);
  if (hintSeconds < MINIMUM_REFRESH_HINT_SECONDS) {
    return { value: refreshHint, rule: 'SPIRE partners fetch a bundle at most once a minute, so a shorter hint is not followed', fix: 'use "1m" or more, or leave it unset for SPIRE\'s 5m' };
  }
  const caTtlSeconds = goDurationSeconds(caTtl);
  // An invalid caTtl is reported by the certificate authority's own check.
  if (caTtlSeconds === undefined) return undefined;
  const leadSeconds = Math.min(caTtlSeconds / 2, 30 * DAY_SECONDS) - Math.min(caTtlSeconds / 6, 7 * DAY_SECONDS);
  if (hintSeconds <= leadSeconds / 2) return undefined;
  return {
    value: refreshHint,
    rule: `with caTtl ${caTtl} a new CA's key is in the bundle ${formatGoDuration(leadSeconds)} before the CA signs with it, and a partner fetching only every ${refreshHint} `
      + 'may miss it, or have no second chance after one failed fetch, and then refuses the SVIDs the new CA signs',
    fix: `use at most ${formatGoDuration(leadSeconds / 2)}, e.g. leave it unset for SPIRE's 5m, or lengthen caTtl`,
  };
}

/** The port a URL dials, its scheme's default when it names none. */
function portOf(url: string): number {
  try {
    const parsed = new URL(url);
    return parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  } catch {
    return 0;
  }
}
