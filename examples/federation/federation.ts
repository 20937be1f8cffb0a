import * as path from 'path';
import * as kplus from 'cdk8s-plus-27';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { ServiceType } from '../../lib/kube/service-type';
import { ClusterFederatedTrustDomain } from '../../lib/constructs/cluster-federated-trust-domain';
import { DemoWorkloads } from '../../lib/constructs/demo-workloads';
import { PartnerService } from '../../lib/constructs/partner-service';
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
  const mesh = new SpireIstioMesh(app, 'Mesh', {
    trustDomain: cluster.trustDomain,
    clusterName: cluster.clusterName,
    server: { bundleEndpoint: { url: cluster.bundleEndpointUrl, serviceType: ServiceType.LOAD_BALANCER } },
  });
  return { app, mesh };
}

/** Where a cluster exposes its `httpbin` pods to the partner's sidecars, and the name partners dial. */
function httpbinHost(cluster: FederationCluster): string {
  return `httpbin.${DemoWorkloads.DEFAULT_NAMESPACE}.${cluster.trustDomain}`;
}

const HTTPBIN_PORT = 8080;

/**
 * The demo workloads of a cluster. `sleep` and `httpbin` take an identity
 * that federates with the partner, the gateway keeps the mesh identity, which
 * does not. `httpbin` lets in the partner's `sleep`, and is exposed to the
 * partner's sidecars on a load balancer of its own; `sleep` reaches the
 * partner's `httpbin` through a PartnerService, whose mTLS runs from its own
 * sidecar to the partner pod's, so the partner's policy sees `sleep`'s ID.
 */
function demoWorkloads(mesh: SpireIstioMesh, partnerDomain: ClusterFederatedTrustDomain, partner: FederationCluster): DemoWorkloads {
  const workloadIdentity = mesh.addFederatedIdentity('DemoFederated', [partnerDomain], { name: 'demo-federated' });
  const partnerSleep = Caller.federated(partnerDomain, DemoWorkloads.DEFAULT_NAMESPACE, DemoWorkloads.SLEEP_NAME);
  const demo = new DemoWorkloads(mesh.workloads, 'Demo', { profile: mesh.profile, identity: mesh.meshIdentity, workloadIdentity, httpbinCallers: [partnerSleep] });
  const exposed = new kplus.Service(demo, 'HttpbinForPartners', {
    metadata: { name: 'httpbin-federation', namespace: DemoWorkloads.DEFAULT_NAMESPACE },
    type: kplus.ServiceType.LOAD_BALANCER,
    ports: [{ name: 'http', port: HTTPBIN_PORT, targetPort: HTTPBIN_PORT, protocol: kplus.Protocol.TCP }],
  });
  exposed.selectLabel('app', 'httpbin');
  new PartnerService(demo, 'PartnerHttpbin', {
    profile: mesh.profile,
    namespace: demo.sleep.namespace,
    name: 'partner-httpbin',
    partner: partnerDomain,
    partnerNamespace: DemoWorkloads.DEFAULT_NAMESPACE,
    partnerServiceAccount: 'httpbin',
    host: httpbinHost(partner),
    port: HTTPBIN_PORT,
    callers: [demo.sleep],
  });
  return demo;
}

/**
 * Two clusters, each with its own trust domain, whose meshes federate with
 * each other: each declares the other's server as a partner, so every value
 * the two sides share (trust domain, endpoint URL, profile, endpoint SPIFFE
 * ID) comes from the partner's SpireServer. Only the demo's `sleep` and
 * `httpbin` federate; no bundle is in the output, so their identity is a
 * stage of its own, applied once the bundles are set by hand. Each
 * cluster's `sleep` calls the other's `httpbin` with its own ID. Each cluster
 * is written to its own folder under `outdir`.
 */
export function synthFederation(outdir: string): void {
  const east = clusterStack(outdir, EAST);
  const west = clusterStack(outdir, WEST);
  const westInEast = east.mesh.federateWith('West', west.mesh.server.federationPartner, { name: WEST.trustDomain });
  const eastInWest = west.mesh.federateWith('East', east.mesh.server.federationPartner, { name: EAST.trustDomain });
  demoWorkloads(east.mesh, westInEast, WEST);
  demoWorkloads(west.mesh, eastInWest, EAST);
  east.app.synth();
  west.app.synth();
}
