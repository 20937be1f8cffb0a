import { Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ClusterFederatedTrustDomain, ClusterFederatedTrustDomainOptions } from '../constructs/cluster-federated-trust-domain';
import { ClusterSpiffeId, ClusterSpiffeIdOptions } from '../constructs/cluster-spiffe-id';
import { FederationPartner } from '../config/federation-config';
import { IstioSpireProfile, IstioSpireProfileOptions } from '../constructs/istio-spire-profile';
import { SpiffeCsiDriver, SpiffeCsiDriverOptions } from '../constructs/spiffe-csi-driver';
import { SpireAgentDaemonSet, SpireAgentOptions } from '../constructs/spire-agent-daemon-set';
import { SpireServer, SpireServerOptions } from '../constructs/spire-server';
import { ISTIO_CUSTOM_RESOURCE_KINDS } from '../istio/custom-resources';
import { requireProps } from '../validation/required';
import { synthFailure } from '../validation/synth-failure';
import { CrdsChart } from './crds-chart';
import { addSyncWaves, GitOpsOrdering } from './gitops-ordering';
import { IdentitiesChart } from './identities-chart';
import { IstioProfileChart } from './istio-profile-chart';
import { SpireChart } from './spire-chart';
import { WorkloadsChart } from './workloads-chart';

export interface SpireIstioMeshProps {
  /** Trust domain of SPIRE and of the mesh, e.g. `example.org`. */
  readonly trustDomain: string;
  /** Name of this cluster in SPIRE (`k8s_psat`, controller manager). */
  readonly clusterName: string;
  /** @default the server named "spire-server" in a namespace of that name */
  readonly server?: SpireServerOptions;
  /** @default the agent named "spire-agent" in namespace "spire-system" */
  readonly agent?: SpireAgentOptions;
  /** @default CSI driver defaults */
  readonly csiDriver?: SpiffeCsiDriverOptions;
  /**
   * Add prometheus-operator PodMonitors for the server and the agents to the
   * SPIRE chart; prometheus-operator's CRDs must be installed before it is applied.
   * @default false
   */
  readonly podMonitors?: boolean;
  /** The ClusterSPIFFEID mesh pods opt into with a label. @default named "istio-mesh-workloads", Istio-form IDs */
  readonly meshIdentity?: ClusterSpiffeIdOptions;
  /** @default an IstioOperator named "istio-spire", Helm values in "helm/istiod-values.yaml" */
  readonly istio?: IstioSpireProfileOptions;
  /**
   * How the apply order is stated for GitOps tools besides the numbered
   * files, e.g. Argo CD sync waves. @default GitOpsOrdering.NONE
   */
  readonly gitOpsOrdering?: GitOpsOrdering;
}

/** The mesh of each app, so that a second one is refused before its charts collide with the first's. */
const meshOfApp = new WeakMap<IConstruct, SpireIstioMesh>();

/**
 * The whole SPIRE + Istio stack of one cluster, placed into one chart per
 * apply stage. Each chart depends on the one before, so `cdk8s synth`
 * numbers the files in the order they must be applied:
 * CRDs → SPIRE → ClusterSPIFFEIDs → Istio profile (istioctl) → workloads.
 * The stage charts are created in `scope`, beside the mesh, so that their ids
 * name the files (`0000-crds.k8s.yaml` …); the mesh itself holds no objects.
 * Put your SPIRE-enabled workloads into `workloads`, or into charts of your
 * own that depend on it.
 *
 * One mesh per app: the CRDs, the CSI driver and the ClusterSPIFFEIDs are
 * cluster-wide, so a second mesh would emit them again and give its
 * identities to the first mesh's pods. Another cluster is an app of its own;
 * another trust domain is federation (`federateWith`).
 */
export class SpireIstioMesh extends Construct {
  public readonly crds: CrdsChart;
  public readonly spire: SpireChart;
  public readonly identities: IdentitiesChart;
  public readonly istio: IstioProfileChart;
  public readonly workloads: WorkloadsChart;
  private federatedIdentitiesChart?: Chart;
  /** Where the stage charts live: the mesh's own scope. */
  private readonly stageScope: Construct;
  private readonly gitOpsOrdering: GitOpsOrdering;

  constructor(scope: Construct, id: string, props: SpireIstioMeshProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['trustDomain', 'string', 'the trust domain of SPIRE and of the mesh, e.g. "example.org"'],
      ['clusterName', 'string', 'the name of this cluster in SPIRE, e.g. "prod"'],
    ]);
    claimApp(this);
    this.stageScope = scope;
    this.gitOpsOrdering = props.gitOpsOrdering ?? GitOpsOrdering.NONE;
    this.crds = new CrdsChart(scope, 'crds');
    this.spire = new SpireChart(scope, 'spire', {
      server: { name: 'spire-server', namespace: 'spire-server', ...props.server, trustDomain: props.trustDomain, clusterName: props.clusterName },
      agent: { name: 'spire-agent', namespace: 'spire-system', ...props.agent },
      csiDriver: props.csiDriver,
      podMonitors: props.podMonitors,
    });
    this.identities = new IdentitiesChart(scope, 'identities', {
      server: this.spire.server,
      meshIdentity: { name: 'istio-mesh-workloads', ...props.meshIdentity },
    });
    this.istio = new IstioProfileChart(scope, 'istio-profile', {
      name: 'istio-spire',
      helmValuesFile: 'helm/istiod-values.yaml',
      ...props.istio,
      csiDriver: this.spire.csiDriver,
    });
    this.workloads = new WorkloadsChart(scope, 'workloads');
    this.spire.addDependency(this.crds);
    this.identities.addDependency(this.spire);
    this.istio.addDependency(this.identities);
    this.workloads.addDependency(this.istio);
    if (props.gitOpsOrdering === GitOpsOrdering.ARGO_CD_SYNC_WAVES) {
      addSyncWaves([this.crds, this.spire, this.identities, this.istio, this.workloads], ['ClusterSPIFFEID', 'IstioOperator', ...ISTIO_CUSTOM_RESOURCE_KINDS]);
    }
  }

  /**
   * Declares another trust domain the server federates with: a
   * ClusterFederatedTrustDomain in the identities chart. No workload trusts
   * the partner yet; give the ones that talk to it an identity of
   * `addFederatedIdentity`. For a partner mesh built in the same program (in
   * an app of its own), pass `partnerMesh.server.federationPartner`.
   */
  public federateWith(id: string, partner: FederationPartner, options: ClusterFederatedTrustDomainOptions = {}): ClusterFederatedTrustDomain {
    return new ClusterFederatedTrustDomain(this.identities, id, { ...options, server: this.server, partner });
  }

  /**
   * A ClusterSPIFFEID for the workloads that talk to other trust domains: its
   * pods alone get the partners' bundles. It selects pods labelled
   * `spiffe.io/spire-managed-identity: <name>`, which the mesh identity does
   * not select, so each pod has one identity. When every partner's bundle is
   * in the output it sits in the identities chart; otherwise in a stage of its
   * own, `federated-identities`, applied after the bundles are set by hand.
   */
  public addFederatedIdentity(id: string, partners: ClusterFederatedTrustDomain[], options: ClusterSpiffeIdOptions = {}): ClusterSpiffeId {
    if (partners.length === 0) {
      throw new Error(`${id}: a federated identity federates with at least one trust domain. Fix: pass the ClusterFederatedTrustDomains of federateWith, or use the mesh identity.`);
    }
    const chart = partners.every((domain) => domain.bundle !== undefined) ? this.identities : this.federatedIdentitiesStage(id);
    const name = options.name ?? id.toLowerCase();
    return new ClusterSpiffeId(chart, id, {
      podSelector: { matchLabels: { [ClusterSpiffeId.MANAGED_IDENTITY_LABEL]: name } },
      ...options,
      name,
      federatesWith: [...options.federatesWith ?? [], ...partners],
      server: this.server,
    });
  }

  /** The stage between the identities and Istio that holds identities federating with partners whose bundle is set by hand. */
  private federatedIdentitiesStage(id: string): Chart {
    if (this.gitOpsOrdering === GitOpsOrdering.ARGO_CD_SYNC_WAVES) {
      throw new Error(`${id}: Argo CD applies every sync wave in one sync, so no hand step fits between the federation declaration and an identity that federates with a partner whose bundle is not in the output. Fix: give the ClusterFederatedTrustDomain the partner's bundle (bundle: PartnerBundle.fromFile, or the partner server's bundleEndpoint.bundle).`);
    }
    if (this.federatedIdentitiesChart === undefined) {
      this.federatedIdentitiesChart = new Chart(this.stageScope, 'federated-identities', { disableResourceNameHashes: true });
      this.federatedIdentitiesChart.addDependency(this.identities);
      this.istio.addDependency(this.federatedIdentitiesChart);
    }
    return this.federatedIdentitiesChart;
  }

  /**
   * The stage of identities that federate with partners whose bundle is set
   * by hand, once `addFederatedIdentity` created it.
   */
  public get federatedIdentities(): Chart | undefined {
    return this.federatedIdentitiesChart;
  }

  public get server(): SpireServer {
    return this.spire.server;
  }

  public get agent(): SpireAgentDaemonSet {
    return this.spire.agent;
  }

  public get csiDriver(): SpiffeCsiDriver {
    return this.spire.csiDriver;
  }

  /** The ClusterSPIFFEID mesh pods opt into with its pod label. */
  public get meshIdentity(): ClusterSpiffeId {
    return this.identities.meshIdentity;
  }

  public get profile(): IstioSpireProfile {
    return this.istio.profile;
  }
}

/**
 * Records the mesh of its app; a second one stops the synth before its stage
 * charts collide with the first mesh's, naming both.
 */
function claimApp(mesh: SpireIstioMesh): void {
  const root = mesh.node.root;
  const first = meshOfApp.get(root);
  if (first !== undefined) {
    throw synthFailure(`${mesh.node.path}: a second SpireIstioMesh in the app, beside ${first.node.path}. Both would emit the cluster-wide spire.spiffe.io CRDs and the CSIDriver csi.spiffe.io, and each mesh's ClusterSPIFFEIDs would select the other mesh's pods. Fix: one mesh per cluster: give another cluster an app of its own (a SpireIstioApp with its own outdir), and join another trust domain by federation (mesh.federateWith and mesh.addFederatedIdentity; docs/federation.md).`);
  }
  meshOfApp.set(root, mesh);
}
