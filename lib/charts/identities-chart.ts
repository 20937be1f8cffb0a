import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ClusterSpiffeId, ClusterSpiffeIdOptions } from '../constructs/cluster-spiffe-id';
import type { ISpireServer } from '../constructs/spire-server/reference';

export interface IdentitiesChartProps {
  /** The server whose controller manager reconciles the identities; trust domain and class come from it. */
  readonly server: ISpireServer;
  /** @default one ClusterSPIFFEID giving Istio-form IDs to pods labelled `spiffe.io/spire-managed-identity: "true"` */
  readonly meshIdentity?: ClusterSpiffeIdOptions;
}

/** Apply stage 3: ClusterSPIFFEIDs; the controller manager's webhook validates them, so SPIRE must be running. */
export class IdentitiesChart extends Chart {
  public readonly meshIdentity: ClusterSpiffeId;

  constructor(scope: Construct, id: string, props: IdentitiesChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    this.meshIdentity = new ClusterSpiffeId(this, 'MeshIdentity', { ...props.meshIdentity, server: props.server });
  }
}
