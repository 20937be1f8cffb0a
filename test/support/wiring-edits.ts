/** Edits of the synthesized manifests that change one piece of wiring, for the report and the diff to show. */
export type Edit = readonly [file: string, edit: (docs: any[]) => void];

export const SPIRE_FILE = '0001-spire.k8s.yaml';
export const IDENTITIES_FILE = '0002-identities.k8s.yaml';
export const ISTIO_FILE = '0003-istio-profile.k8s.yaml';
export const WORKLOADS_FILE = '0004-workloads.k8s.yaml';

function editSpireConfig(docs: any[], key: string, edit: (config: any) => void): void {
  const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.[key]);
  const config = JSON.parse(configMap.data[key]);
  edit(config);
  configMap.data[key] = JSON.stringify(config, null, 2);
}

const deployment = (docs: any[], name: string) => docs.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === name);
const istioValues = (docs: any[]) => docs[0].spec.values;

export const AGENT_CLUSTER: Edit = [SPIRE_FILE, (docs) => editSpireConfig(docs, 'agent.conf', (config) => {
  config.plugins.NodeAttestor[0].k8s_psat.plugin_data.cluster = 'other-cluster';
})];

export const AGENT_SOCKET: Edit = [SPIRE_FILE, (docs) => editSpireConfig(docs, 'agent.conf', (config) => {
  config.agent.socket_path = '/run/secrets/workload-spiffe-uds/agent.sock';
})];

export const TEMPLATE_DRIVER: Edit = [ISTIO_FILE, (docs) => {
  const templates = istioValues(docs).sidecarInjectorWebhook.templates;
  templates.spire = templates.spire.replace('csi.spiffe.io', 'csi.example.org');
}];

export const CLASSIC_SIDECARS: Edit = [ISTIO_FILE, (docs) => { istioValues(docs).pilot.env.ENABLE_NATIVE_SIDECARS = 'false'; }];

export const SLEEP_IMAGE: Edit = [WORKLOADS_FILE, (docs) => { deployment(docs, 'sleep').spec.template.spec.containers[0].image = 'docker.io/curlimages/curl:8.12.0'; }];

export const RATINGS_MAY_CALL_HTTPBIN: Edit = [WORKLOADS_FILE, (docs) => {
  docs.find((doc) => doc.kind === 'AuthorizationPolicy').spec.rules[0].from[0].source.principals.push('example.org/ns/bookstore/sa/ratings');
}];

export const MESH_IDS_ONLY_FOR_SLEEP: Edit = [IDENTITIES_FILE, (docs) => {
  docs.find((doc) => doc.metadata.name === 'istio-mesh-workloads').spec.podSelector = { matchLabels: { app: 'sleep' } };
}];

export const ISTIO_TRUST_DOMAIN: Edit = [ISTIO_FILE, (docs) => { docs[0].spec.meshConfig.trustDomain = 'cluster.local'; }];
