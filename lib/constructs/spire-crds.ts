import { Construct, IConstruct } from 'constructs';
import { JsonSchemaProps, KubeCustomResourceDefinition } from '../kube/objects';
import { recordSpireCrds, registerLayoutChecks } from '../mesh/layout-checks';

/** The API group of the SPIRE Controller Manager's resources. */
export const SPIRE_API_GROUP = 'spire.spiffe.io';
/** The served and stored version of every spire.spiffe.io resource. */
export const SPIRE_API_VERSION = 'v1alpha1';

const string: JsonSchemaProps = { type: 'string' };
const boolean: JsonSchemaProps = { type: 'boolean' };
const integer: JsonSchemaProps = { type: 'integer' };
const strings: JsonSchemaProps = { type: 'array', items: string };
// `items` is untyped in the generated classes, so what sits inside it is rendered as written and
// needs the API's own field names: the typed `xKubernetesListType` would reach the server as an
// unknown field, which it drops.
const atomicStringsInItems = { ...strings, 'x-kubernetes-list-type': 'atomic' } as JsonSchemaProps;

function object(properties: Record<string, JsonSchemaProps>, required?: string[]): JsonSchemaProps {
  return { type: 'object', properties, ...(required ? { required } : {}) };
}

const labelSelector: JsonSchemaProps = {
  ...object({
    matchExpressions: {
      type: 'array',
      xKubernetesListType: 'atomic',
      items: object({ key: string, operator: string, values: atomicStringsInItems }, ['key', 'operator']),
    },
    matchLabels: { type: 'object', additionalProperties: string },
  }),
  xKubernetesMapType: 'atomic',
};

const clusterSpiffeIdSpec = object({
  admin: boolean,
  autoPopulateDNSNames: boolean,
  className: string,
  dnsNameTemplates: strings,
  downstream: boolean,
  fallback: boolean,
  federatesWith: strings,
  hint: string,
  jwtTtl: string,
  namespaceSelector: labelSelector,
  podSelector: labelSelector,
  spiffeIDTemplate: string,
  ttl: string,
  workloadSelectorTemplates: strings,
}, ['spiffeIDTemplate']);

const clusterSpiffeIdStatus = object({
  stats: object(Object.fromEntries([
    'entriesMasked', 'entriesToSet', 'entryFailures', 'namespacesIgnored',
    'namespacesSelected', 'podEntryRenderFailures', 'podsSelected',
  ].map((name) => [name, integer]))),
});

const clusterFederatedTrustDomainSpec = object({
  bundleEndpointProfile: object({
    endpointSPIFFEID: string,
    type: { type: 'string', enum: ['https_spiffe', 'https_web'] },
  }, ['type']),
  bundleEndpointURL: string,
  className: string,
  trustDomain: { type: 'string', pattern: '[a-z0-9._-]{1,255}' },
  trustDomainBundle: string,
}, ['bundleEndpointProfile', 'bundleEndpointURL', 'trustDomain']);

const clusterStaticEntrySpec = object({
  admin: boolean,
  className: string,
  dnsNames: strings,
  downstream: boolean,
  federatesWith: strings,
  hint: string,
  jwtSVIDTTL: string,
  parentID: string,
  selectors: strings,
  spiffeID: string,
  storeSVID: boolean,
  x509SVIDTTL: string,
}, ['parentID', 'selectors', 'spiffeID']);

const clusterStaticEntryStatus = object({ masked: boolean, rendered: boolean, set: boolean }, ['masked', 'rendered', 'set']);

interface ResourceDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly spec: JsonSchemaProps;
  readonly status: JsonSchemaProps;
  readonly columns?: Array<{ name: string; jsonPath: string }>;
}

const RESOURCES: ResourceDefinition[] = [
  { kind: 'ClusterSPIFFEID', plural: 'clusterspiffeids', spec: clusterSpiffeIdSpec, status: clusterSpiffeIdStatus },
  {
    kind: 'ClusterFederatedTrustDomain',
    plural: 'clusterfederatedtrustdomains',
    spec: clusterFederatedTrustDomainSpec,
    status: { type: 'object' },
    columns: [
      { name: 'Trust Domain', jsonPath: '.spec.trustDomain' },
      { name: 'Endpoint URL', jsonPath: '.spec.bundleEndpointURL' },
    ],
  },
  { kind: 'ClusterStaticEntry', plural: 'clusterstaticentries', spec: clusterStaticEntrySpec, status: clusterStaticEntryStatus },
];

/**
 * The three cluster-scoped spire.spiffe.io v1alpha1 CustomResourceDefinitions
 * the SPIRE Controller Manager serves: ClusterSPIFFEID,
 * ClusterFederatedTrustDomain and ClusterStaticEntry. Apply them first and
 * wait until they are established.
 */
export class SpireCrds extends Construct {
  /**
   * States that the cluster has the spire.spiffe.io CRDs already (installed by
   * another tool), so the app's ClusterSPIFFEIDs need no SpireCrds before them.
   */
  public static installedElsewhere(scope: IConstruct): void {
    recordSpireCrds(scope);
  }

  /** Names of the CRD objects, e.g. `clusterspiffeids.spire.spiffe.io`. */
  public readonly crdNames: string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.crdNames = RESOURCES.map((resource) => this.define(resource));
    recordSpireCrds(this, this);
    registerLayoutChecks(this);
  }

  private define(resource: ResourceDefinition): string {
    const name = `${resource.plural}.${SPIRE_API_GROUP}`;
    new KubeCustomResourceDefinition(this, resource.kind, {
      metadata: { name },
      spec: {
        group: SPIRE_API_GROUP,
        names: {
          kind: resource.kind,
          listKind: `${resource.kind}List`,
          plural: resource.plural,
          singular: resource.plural === 'clusterstaticentries' ? 'clusterstaticentry' : resource.plural.replace(/s$/, ''),
        },
        scope: 'Cluster',
        versions: [{
          name: SPIRE_API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          ...(resource.columns
            ? { additionalPrinterColumns: resource.columns.map((column) => ({ ...column, type: 'string' })) }
            : {}),
          schema: {
            openApiv3Schema: object({
              apiVersion: string,
              kind: string,
              metadata: { type: 'object' },
              spec: resource.spec,
              status: resource.status,
            }, ['metadata', 'spec']),
          },
        }],
      },
    });
    return name;
  }
}
