import { Construct } from 'constructs';
import { ClusterSpiffeId, SPIRE_MANAGED_IDENTITY_LABEL } from '../constructs/cluster-spiffe-id';
import { DemoWorkloads } from '../constructs/demo-workloads';
import { MeshNamespace } from '../constructs/mesh-namespace';
import { LabelSelectorOperator } from '../kube/label-selector';
import { LocalInclude } from '../kube/local-include';
import { enableIncludedPodOwners } from '../mesh/included-pod-owners';
import { DefaultSettings } from './default-settings';
import { SpireIstioMesh, SpireIstioMeshProps } from './spire-istio-mesh';

/** The bookstore example, as the repository ships it. */
export const BOOKSTORE_MANIFEST = 'examples/bookstore/bookstore.yaml';

/** The namespace label the bookstore's namespace-wide ClusterSPIFFEID selects. */
export const NAMESPACE_IDENTITY_LABEL = 'spire-identity';

/** What the default deployment is made of. */
export interface DefaultDeployment {
  readonly mesh: SpireIstioMesh;
  readonly demo: DemoWorkloads;
  /** Gives every bookstore pod without the mesh label its ID, by namespace. */
  readonly bookstoreIdentity: ClusterSpiffeId;
  readonly bookstore: LocalInclude;
}

/** Settings of the default deployment's SPIRE components besides those of DefaultSettings. */
export type DefaultDeploymentComponents = Pick<SpireIstioMeshProps, 'server' | 'agent'>;

/**
 * The default deployment: the SPIRE + Istio stack, the demo workloads, and
 * the bookstore loaded from plain YAML as an Include would, whose pods get their
 * IDs from a namespace-selecting ClusterSPIFFEID, except `ratings`, which opts
 * in with the mesh identity's pod label.
 */
export function buildDefaultDeployment(scope: Construct, settings: DefaultSettings, bookstoreManifest = BOOKSTORE_MANIFEST,
  components: DefaultDeploymentComponents = {}): DefaultDeployment {
  const mesh = new SpireIstioMesh(scope, 'Mesh', {
    trustDomain: settings.trustDomain,
    clusterName: settings.clusterName,
    server: components.server,
    agent: components.agent,
    istio: { sidecarMode: settings.sidecarMode },
  });
  const profile = mesh.profile;
  const demo = new DemoWorkloads(mesh.workloads, 'Demo', { profile, identity: mesh.meshIdentity });

  const bookstoreIdentity = new ClusterSpiffeId(mesh.identities, 'BookstoreIdentity', {
    server: mesh.server,
    name: 'bookstore-namespace-workloads',
    namespaceSelector: { matchLabels: { [NAMESPACE_IDENTITY_LABEL]: 'namespace' } },
    podSelector: { matchExpressions: [{ key: SPIRE_MANAGED_IDENTITY_LABEL, operator: LabelSelectorOperator.DOES_NOT_EXIST }] },
  });
  const namespace = MeshNamespace.create(mesh.workloads, 'BookstoreNamespace', {
    name: 'bookstore',
    revision: profile.revision,
    labels: { [NAMESPACE_IDENTITY_LABEL]: 'namespace' },
  });
  const bookstore = new LocalInclude(mesh.workloads, 'Bookstore', { file: bookstoreManifest });
  enableIncludedPodOwners(bookstore, { profile, identity: mesh.meshIdentity, namespace, names: ['ratings'] });
  enableIncludedPodOwners(bookstore, {
    profile,
    identity: bookstoreIdentity,
    namespace,
    predicate: { matches: (apiObject) => apiObject.name !== 'ratings' },
  });
  return { mesh, demo, bookstoreIdentity, bookstore };
}
