import * as path from 'path';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { BundleEndpointServiceType } from '../../lib/config/federation-config';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { DemoWorkloads } from '../../lib/constructs/demo-workloads';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';
import { Caller } from '../../lib/mesh/caller';

/** One cluster of the example: its own trust domain, and where partners reach its bundle endpoint. */
export interface FederationCluster {
  readonly clusterName: string;
  readonly trustDomain: string;
  readonly bundleEndpointUrl: string;
}

export const EAST: FederationCluster = {
  clusterName: 'east',
  trustDomain: 'east.example.org',
  bundleEndpointUrl: 'https://spire-bundle.east.example.org:8443',
};

export const WEST: FederationCluster = {
  clusterName: 'west',
  trustDomain: 'west.example.org',
  bundleEndpointUrl: 'https://spire-bundle.west.example.org:8443',
};

/** Every cluster of the example, each written to the folder named after it. */
export const FEDERATION_CLUSTERS: FederationCluster[] = [EAST, WEST];

/** One cluster's app: the whole stack, its bundle endpoint behind a load balancer. */
function clusterStack(outdir: string, cluster: FederationCluster): { app: SpireIstioApp; mesh: SpireIstioMesh } {
  const app = new SpireIstioApp({ outdir: path.join(outdir, cluster.clusterName) });
  const mesh = new SpireIstioMesh(app, {
    trustDomain: cluster.trustDomain,
    clusterName: cluster.clusterName,
    server: { bundleEndpoint: { url: cluster.bundleEndpointUrl, serviceType: BundleEndpointServiceType.LOAD_BALANCER } },
  });
  return { app, mesh };
}

/** The demo workloads of a cluster, whose `httpbin` also lets in the partner's `sleep`. */
function demoWorkloads(mesh: SpireIstioMesh, partner: ClusterFederatedTrustDomain): DemoWorkloads {
  const partnerSleep = Caller.federated(partner, DemoWorkloads.DEFAULT_NAMESPACE, DemoWorkloads.SLEEP_NAME);
  return new DemoWorkloads(mesh.workloads, 'Demo', { profile: mesh.profile, identity: mesh.meshIdentity, httpbinCallers: [partnerSleep] });
}

/**
 * Two clusters, each with its own trust domain, whose meshes federate with
 * each other: each declares the other's server as a partner, so every value
 * the two sides share (trust domain, endpoint URL, profile, endpoint SPIFFE
 * ID) comes from the partner's SpireServer. Each cluster's `httpbin` lets in
 * the other cluster's `sleep`, by the ID its partner's mesh issues. Each
 * cluster is written to its own folder under `outdir`.
 */
export function synthFederation(outdir: string): void {
  const east = clusterStack(outdir, EAST);
  const west = clusterStack(outdir, WEST);
  const westInEast = east.mesh.federateWith('West', west.mesh.server.federationPartner, { name: WEST.trustDomain });
  const eastInWest = west.mesh.federateWith('East', east.mesh.server.federationPartner, { name: EAST.trustDomain });
  demoWorkloads(east.mesh, westInEast);
  demoWorkloads(west.mesh, eastInWest);
  east.app.synth();
  west.app.synth();
}
