import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterFederatedTrustDomain, ClusterFederatedTrustDomainOptions } from '../constructs/cluster-federated-trust-domain';
import { ClusterSpiffeId, ClusterSpiffeIdOptions } from '../constructs/cluster-spiffe-id';
import { FederationPartner } from '../config/federation-config';
import { IstioSpireProfile, IstioSpireProfileOptions } from '../constructs/istio-spire-profile';
import { SpiffeCsiDriver, SpiffeCsiDriverOptions } from '../constructs/spiffe-csi-driver';
import { SpireAgentDaemonSet, SpireAgentOptions } from '../constructs/spire-agent-daemon-set';
import { SpireServer, SpireServerOptions } from '../constructs/spire-server';
import { ISTIO_CUSTOM_RESOURCE_KINDS } from '../istio/custom-resources';
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
  /** @default the server named "<prefix>spire-server" in a namespace of that name */
  readonly server?: SpireServerOptions;
  /** @default the agent named "spire-agent" in namespace "<prefix>spire-system" */
  readonly agent?: SpireAgentOptions;
  /** @default CSI driver defaults */
  readonly csiDriver?: SpiffeCsiDriverOptions;
  /**
   * Add prometheus-operator PodMonitors for the server and the agents to the
   * SPIRE chart; prometheus-operator's CRDs must be installed before it is applied.
   * @default false
   */
  readonly podMonitors?: boolean;
  /** The ClusterSPIFFEID mesh pods opt into with a label. @default named "<prefix>istio-mesh-workloads", Istio-form IDs */
  readonly meshIdentity?: ClusterSpiffeIdOptions;
  /** @default an IstioOperator named "<prefix>istio-spire", Helm values in "helm/<prefix>istiod-values.yaml" */
  readonly istio?: IstioSpireProfileOptions;
  /**
   * Prefix of the stage charts' ids (and so of the file names) and of the
   * mesh-wide object names, for more than one mesh in an app. @default none
   */
  readonly prefix?: string;
  /**
   * How the apply order is stated for GitOps tools besides the numbered
   * files, e.g. Argo CD sync waves. @default GitOpsOrdering.NONE
   */
  readonly gitOpsOrdering?: GitOpsOrdering;
}

/**
 * The whole SPIRE + Istio stack, placed into one chart per apply stage. Each
 * chart depends on the one before, so `cdk8s synth` numbers the files in the
 * order they must be applied:
 * CRDs → SPIRE → ClusterSPIFFEIDs → Istio profile (istioctl) → workloads.
 * Put your SPIRE-enabled workloads into `workloads`, or into charts of your
 * own that depend on it.
 */
export class SpireIstioMesh {
  public readonly crds: CrdsChart;
  public readonly spire: SpireChart;
  public readonly identities: IdentitiesChart;
  public readonly istio: IstioProfileChart;
  public readonly workloads: WorkloadsChart;
  private federatedIdentitiesChart?: Chart;
  private readonly scope: Construct;
  private readonly prefix: string;
  private readonly gitOpsOrdering: GitOpsOrdering;

  constructor(scope: Construct, props: SpireIstioMeshProps) {
    const prefix = props.prefix ?? '';
    this.scope = scope;
    this.prefix = prefix;
    this.gitOpsOrdering = props.gitOpsOrdering ?? GitOpsOrdering.NONE;
    this.crds = new CrdsChart(scope, `${prefix}crds`);
    this.spire = new SpireChart(scope, `${prefix}spire`, {
      server: { name: `${prefix}spire-server`, namespace: `${prefix}spire-server`, ...props.server, trustDomain: props.trustDomain, clusterName: props.clusterName },
      agent: { name: 'spire-agent', namespace: `${prefix}spire-system`, ...props.agent },
      csiDriver: props.csiDriver,
      podMonitors: props.podMonitors,
    });
    this.identities = new IdentitiesChart(scope, `${prefix}identities`, {
      server: this.spire.server,
      meshIdentity: { name: `${prefix}istio-mesh-workloads`, ...props.meshIdentity },
    });
    this.istio = new IstioProfileChart(scope, `${prefix}istio-profile`, {
      name: `${prefix}istio-spire`,
      helmValuesFile: `helm/${prefix}istiod-values.yaml`,
      ...props.istio,
      csiDriver: this.spire.csiDriver,
    });
    this.workloads = new WorkloadsChart(scope, `${prefix}workloads`);
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
   * `addFederatedIdentity`. For a partner mesh of this app, pass
   * `partnerMesh.server.federationPartner`.
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
    const name = options.name ?? `${this.prefix}${id.toLowerCase()}`;
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
      this.federatedIdentitiesChart = new Chart(this.scope, `${this.prefix}federated-identities`, { disableResourceNameHashes: true });
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
