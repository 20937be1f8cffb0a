import { SidecarMode } from '../lib/constructs/istio-spire-profile';
import * as path from 'path';
import * as YAML from 'yaml';
import { ManifestObject } from '../lib/check/manifests';
import { checkManifests } from '../lib/check/rules';
import { renderForSidecarMode } from '../lib/istio/injection-template';
import { selectorMatches } from '../lib/kube/label-selector';
import { cloneObjects, objectsOf, onlyObject, synthDeployment } from './support/synth';

const MESH_IDENTITY = 'istio-mesh-workloads';

const { objects } = synthDeployment();
const classic = synthDeployment({ sidecarMode: SidecarMode.CLASSIC });

const configMapData = (all: ManifestObject[], key: string) =>
  objectsOf(all, 'ConfigMap').map((configMap) => configMap.data?.[key]).find((value) => value !== undefined);
const serverConf = (all: ManifestObject[]) => JSON.parse(configMapData(all, 'server.conf'));
const agentConf = (all: ManifestObject[]) => JSON.parse(configMapData(all, 'agent.conf'));
const managerConf = (all: ManifestObject[]) => YAML.parse(configMapData(all, 'controller-manager-config.yaml'));
const istioOperator = (all: ManifestObject[]) => onlyObject(all, 'IstioOperator');
const templateText = (all: ManifestObject[], name: string) => istioOperator(all).spec.values.sidecarInjectorWebhook.templates[name];
/** A template as Istio renders it for a pod whose istio-proxy is (not) a native sidecar. */
const template = (all: ManifestObject[], name: string, native: boolean) => renderForSidecarMode(templateText(all, name), native);
const agentPod = (all: ManifestObject[]) => onlyObject(all, 'DaemonSet', 'spire-agent').spec.template.spec;
const pluginData = (config: any, type: string, name: string) => config.plugins[type].find((entry: any) => entry[name])[name].plugin_data;

function hostPathAt(pod: any, containerName: string, mountPath: string): string | undefined {
  const container = pod.containers.find((candidate: any) => candidate.name === containerName);
  const mount = container.volumeMounts.find((candidate: any) => candidate.mountPath === mountPath);
  return pod.volumes.find((volume: any) => volume.name === mount?.name)?.hostPath?.path;
}

function findingsAfter(mutate: (all: ManifestObject[]) => void, base = objects): string[] {
  const broken = cloneObjects(base);
  mutate(broken);
  return checkManifests(broken).map((finding) => finding.message);
}

function editConfig(all: ManifestObject[], key: string, edit: (config: any) => void): void {
  const configMap = objectsOf(all, 'ConfigMap').find((candidate) => candidate.data?.[key] !== undefined);
  const config = key.endsWith('.yaml') ? YAML.parse(configMap.data[key]) : JSON.parse(configMap.data[key]);
  edit(config);
  configMap.data[key] = JSON.stringify(config);
}

function setTemplate(all: ManifestObject[], name: string, text: string): void {
  istioOperator(all).spec.values.sidecarInjectorWebhook.templates[name] = text;
}

test('the synthesized default deployment breaks no wiring rule', () => {
  expect(checkManifests(objects)).toEqual([]);
  expect(checkManifests(classic.objects)).toEqual([]);
});

describe('agent socket and CSI driver', () => {
  test('the agent serves its socket in the node directory the CSI driver serves', () => {
    const socketDir = path.posix.dirname(agentConf(objects).agent.socket_path);
    const pod = agentPod(objects);
    const driver = pod.containers.find((container: any) => container.name === 'spiffe-csi-driver');
    const servedDir = driver.args[driver.args.indexOf('-workload-api-socket-dir') + 1];
    expect(hostPathAt(pod, 'spire-agent', socketDir)).toBeDefined();
    expect(hostPathAt(pod, 'spiffe-csi-driver', servedDir)).toBe(hostPathAt(pod, 'spire-agent', socketDir));
  });

  test('a driver serving another node directory is reported', () => {
    expect(findingsAfter((all) => {
      const pod = agentPod(all);
      pod.volumes.push({ name: 'elsewhere', hostPath: { path: '/run/elsewhere' } });
      const driver = pod.containers.find((container: any) => container.name === 'spiffe-csi-driver');
      driver.volumeMounts.find((mount: any) => mount.mountPath === '/spire-agent-socket').name = 'elsewhere';
    })).toEqual([expect.stringContaining('the CSI driver serves /run/elsewhere')]);
  });

  const onEmptyDir = (all: ManifestObject[]) => {
    const volume = agentPod(all).volumes.find((candidate: any) => candidate.name === 'spire-agent-socket-dir');
    delete volume.hostPath;
    volume.emptyDir = {};
  };

  test('an emptyDir the agent shares with the driver container of its own pod is fine: the driver bind-mounts from inside the pod', () => {
    expect(findingsAfter(onEmptyDir)).toEqual([]);
  });

  test('an emptyDir is reported when the driver runs in another pod', () => {
    expect(findingsAfter((all) => {
      onEmptyDir(all);
      const agent = onlyObject(all, 'DaemonSet', 'spire-agent');
      const driverPod = structuredClone(agent);
      driverPod.metadata.name = 'spiffe-csi-driver';
      driverPod.spec.template.spec.containers = agent.spec.template.spec.containers.filter((container: any) => container.name !== 'spire-agent');
      agent.spec.template.spec.containers = agent.spec.template.spec.containers.filter((container: any) => container.name === 'spire-agent');
      all.push({ file: 'driver.yaml', doc: driverPod });
    })).toEqual([expect.stringContaining('which is not a hostPath volume of the agent\'s pod, so the CSI driver of DaemonSet spire-system/spiffe-csi-driver, another pod, cannot reach it')]);
  });

  test('a driver of the agent\'s pod serving another volume than the agent\'s socket is reported', () => {
    expect(findingsAfter((all) => {
      onEmptyDir(all);
      const pod = agentPod(all);
      pod.volumes.push({ name: 'elsewhere', emptyDir: {} });
      const driver = pod.containers.find((container: any) => container.name === 'spiffe-csi-driver');
      driver.volumeMounts.find((mount: any) => mount.mountPath === '/spire-agent-socket').name = 'elsewhere';
    })).toEqual([expect.stringContaining('the CSI driver serves /spire-agent-socket (not a hostPath) but the agent\'s socket is in volume spire-agent-socket-dir of the agent\'s pod')]);
  });

  test('the CSIDriver object is the ephemeral-only csi.spiffe.io driver the templates name', () => {
    const driver = onlyObject(objects, 'CSIDriver');
    expect(driver.metadata.name).toBe('csi.spiffe.io');
    expect(driver.spec).toEqual({ attachRequired: false, podInfoOnMount: true, fsGroupPolicy: 'None', volumeLifecycleModes: ['Ephemeral'] });
    const pod = agentPod(objects);
    const driverContainer = pod.containers.find((container: any) => container.name === 'spiffe-csi-driver');
    expect(driverContainer.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/var/lib/kubelet/pods', mountPropagation: 'Bidirectional' }));
    expect(pod.hostPID).toBe(true);
  });
});

describe('Istio spire templates', () => {
  test.each([
    ['native', 'spire', true, 'initContainers'],
    ['classic', 'spire', false, 'containers'],
    ['native', 'spire-gateway', true, 'containers'],
    ['classic', 'spire-gateway', false, 'containers'],
  ])('%s mesh: %s patches istio-proxy in %s pods\' %s, mounting the CSI volume where the agent serves', (mode, name, native, field) => {
    const all = mode === 'native' ? objects : classic.objects;
    const patch = template(all, name, native as boolean).spec;
    const proxy = patch[field as string].find((container: any) => container.name === 'istio-proxy');
    const mount = proxy.volumeMounts.find((candidate: any) => candidate.name === 'workload-socket');
    const volume = patch.volumes.find((candidate: any) => candidate.name === 'workload-socket');
    expect(volume.csi).toEqual({ driver: onlyObject(all, 'CSIDriver').metadata.name, readOnly: true });
    expect(mount).toEqual({ name: 'workload-socket', mountPath: path.posix.dirname(agentConf(all).agent.socket_path), readOnly: true });
    expect(path.posix.basename(agentConf(all).agent.socket_path)).toBe('socket');
    const otherField = field === 'containers' ? 'initContainers' : 'containers';
    expect(patch[otherField]).toBeUndefined();
  });

  test('the spire template follows a pod that overrides the mesh\'s sidecar mode', () => {
    expect(Object.keys(template(objects, 'spire', false).spec)).toEqual(['containers', 'volumes']);
    expect(Object.keys(template(classic.objects, 'spire', true).spec)).toEqual(['initContainers', 'volumes']);
    expect(template(objects, 'spire-gateway', true)).toEqual(template(objects, 'spire-gateway', false));
  });

  test('native sidecars are switched on or off to match the template', () => {
    expect(istioOperator(objects).spec.values.pilot.env.ENABLE_NATIVE_SIDECARS).toBe('true');
    expect(istioOperator(classic.objects).spec.values.pilot.env.ENABLE_NATIVE_SIDECARS).toBe('false');
  });

  const staticTemplate = (list: string, mountPath = '/run/secrets/workload-spiffe-uds', driver = 'csi.spiffe.io') => YAML.stringify({
    spec: {
      [list]: [{ name: 'istio-proxy', volumeMounts: [{ name: 'workload-socket', mountPath, readOnly: true }] }],
      volumes: [{ name: 'workload-socket', csi: { driver, readOnly: true } }],
    },
  });

  test('a sidecar template that patches containers under native sidecars is reported', () => {
    expect(findingsAfter((all) => setTemplate(all, 'spire', staticTemplate('containers'))))
      .toEqual([expect.stringContaining('patches istio-proxy in containers for native sidecar pods')]);
  });

  test('a static native template used by a pod that opts out of native sidecars is reported', () => {
    expect(findingsAfter((all) => {
      setTemplate(all, 'spire', staticTemplate('initContainers'));
      onlyObject(all, 'Deployment', 'sleep').spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar'] = 'false';
    })).toEqual([expect.stringContaining('patches istio-proxy in initContainers for classic sidecar pods')]);
  });

  test('a mount where istio-proxy does not look is reported', () => {
    expect(findingsAfter((all) => setTemplate(all, 'spire-gateway', staticTemplate('containers', '/run/spire/sockets'))))
      .toEqual(expect.arrayContaining([expect.stringContaining('where it never looks')]));
  });

  test('a template naming another CSI driver is reported', () => {
    expect(findingsAfter((all) => setTemplate(all, 'spire', templateText(all, 'spire').replace('csi.spiffe.io', 'csi.example.com'))))
      .toEqual([expect.stringContaining('uses CSI driver "csi.example.com"')]);
  });

  test('template logic the checker cannot evaluate is a warning, not a pass', () => {
    const findings = checkManifests(cloneObjects(objects).map((object) => {
      if (object.doc.kind === 'IstioOperator') object.doc.spec.values.sidecarInjectorWebhook.templates.spire = '{{ if .Values.global.custom }}spec: {}{{ end }}';
      return object;
    }));
    expect(findings).toContainEqual(expect.objectContaining({ severity: 'warning', message: expect.stringContaining('cannot evaluate') }));
  });

  test('an agent socket file name istio-proxy does not expect is reported', () => {
    expect(findingsAfter((all) => editConfig(all, 'agent.conf', (config) => {
      config.agent.socket_path = '/run/secrets/workload-spiffe-uds/api.sock';
    }))).toContainEqual(expect.stringContaining('but the agent serves /run/secrets/workload-spiffe-uds/api.sock'));
  });
});

describe('classic sidecars that hold the application until the proxy starts', () => {
  const holdMeshWide = (all: ManifestObject[]) => { istioOperator(all).spec.meshConfig.defaultConfig = { holdApplicationUntilProxyStarts: true }; };
  const annotate = (all: ManifestObject[], name: string, annotations: Record<string, string>) =>
    Object.assign(onlyObject(all, 'Deployment', name).spec.template.metadata.annotations, annotations);
  const containerSelectorsDisabled = (all: ManifestObject[]) => editConfig(all, 'agent.conf', (config) => {
    pluginData(config, 'WorkloadAttestor', 'k8s').disable_container_selectors = true;
  });
  const heldFinding = (pods: string) => expect.stringContaining(`istio-proxy of ${pods} is a classic sidecar that holds the application until it starts`);

  test('mesh-wide, they need the agent to attest without container selectors', () => {
    expect(findingsAfter(holdMeshWide, classic.objects)).toEqual([heldFinding('Deployment demo/sleep, Deployment demo/httpbin, Deployment bookstore/storefront, Deployment bookstore/catalog, Deployment bookstore/reviews, Deployment bookstore/ratings')]);
    expect(findingsAfter((all) => { istioOperator(all).spec.values.global = { proxy: { holdApplicationUntilProxyStarts: true } }; }, classic.objects)).toHaveLength(1);
    expect(findingsAfter((all) => { holdMeshWide(all); containerSelectorsDisabled(all); }, classic.objects)).toEqual([]);
  });

  test('native sidecars hold without a postStart hook, so they need nothing', () => {
    expect(findingsAfter(holdMeshWide)).toEqual([]);
  });

  test('a pod\'s own ProxyConfig and sidecar mode count', () => {
    expect(findingsAfter((all) => annotate(all, 'sleep', { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true' }), classic.objects))
      .toEqual([heldFinding('Deployment demo/sleep')]);
    expect(findingsAfter((all) => annotate(all, 'sleep', { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true', 'sidecar.istio.io/nativeSidecar': 'false' })))
      .toEqual([heldFinding('Deployment demo/sleep')]);
    expect(findingsAfter((all) => {
      holdMeshWide(all);
      for (const name of ['httpbin', 'storefront', 'catalog', 'reviews', 'ratings']) annotate(all, name, { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: false' });
    }, classic.objects)).toEqual([heldFinding('Deployment demo/sleep')]);
  });

  test('ENABLE_NATIVE_SIDECARS in the istiod component turns the mesh classic', () => {
    expect(findingsAfter((all) => {
      holdMeshWide(all);
      istioOperator(all).spec.components.pilot = { k8s: { env: [{ name: 'ENABLE_NATIVE_SIDECARS', value: 'false' }] } };
    })).toEqual([heldFinding('Deployment demo/sleep, Deployment demo/httpbin, Deployment bookstore/storefront, Deployment bookstore/catalog, Deployment bookstore/reviews, Deployment bookstore/ratings')]);
  });
});

describe('agent pod', () => {
  test('the attestor dials the kubelet at the node IP, which works without host networking', () => {
    const attestor = pluginData(agentConf(objects), 'WorkloadAttestor', 'k8s');
    const agent = agentPod(objects).containers.find((container: any) => container.name === 'spire-agent');
    const env = agent.env.find((variable: any) => variable.name === attestor.node_name_env);
    expect(env.valueFrom.fieldRef.fieldPath).toBe('status.hostIP');
    // Unset is the server default, false.
    expect(agentPod(objects).hostNetwork ?? false).toBe(false);
  });

  test('an attestor address the pod cannot reach is reported', () => {
    expect(findingsAfter((all) => editConfig(all, 'agent.conf', (config) => {
      pluginData(config, 'WorkloadAttestor', 'k8s').node_name_env = 'MY_NODE_NAME';
    }))).toEqual([expect.stringContaining('node_name_env MY_NODE_NAME is not set in the agent pod')]);
    expect(checkManifests(cloneObjects(objects).map((object) => {
      const env = object.doc.spec?.template?.spec?.containers?.[0]?.env?.find((variable: any) => variable.name === 'KUBELET_HOST');
      if (env) env.valueFrom.fieldRef.fieldPath = 'spec.nodeName';
      return object;
    }))).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining('is the node name') })]);
  });

  test('the agent and CSI driver run on every node, tainted ones too', () => {
    expect(agentPod(objects).tolerations).toEqual([{ operator: 'Exists' }]);
  });

  test('the server may apply only the agent\'s bundle ConfigMap, creating it again if deleted', () => {
    const role = onlyObject(objects, 'Role', 'spire-server-bundle-publisher');
    expect(role.metadata.namespace).toBe('spire-system');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['spire-bundle'], verbs: ['patch', 'create'] }]);
    expect(onlyObject(objects, 'ConfigMap', 'spire-bundle').metadata.namespace).toBe('spire-system');
  });

  test('each server replica keeps its data on its own claim, declared once', () => {
    const statefulSet = onlyObject(objects, 'StatefulSet', 'spire-server');
    const pod = statefulSet.spec.template.spec;
    expect(statefulSet.spec.volumeClaimTemplates.map((claim: any) => claim.metadata.name)).toEqual(['spire-data']);
    expect(pod.volumes.map((volume: any) => volume.name)).not.toContain('spire-data');
    const server = pod.containers.find((container: any) => container.name === 'spire-server');
    expect(server.volumeMounts).toContainEqual({ name: 'spire-data', mountPath: serverConf(objects).server.data_dir });
  });
});

describe('shared values', () => {
  test('trust domain is the same in server, agent, controller manager and Istio', () => {
    const domains = [
      serverConf(objects).server.trust_domain,
      agentConf(objects).agent.trust_domain,
      managerConf(objects).trustDomain,
      istioOperator(objects).spec.meshConfig.trustDomain,
    ];
    expect(new Set(domains)).toEqual(new Set(['example.org']));
  });

  test('a trust domain that differs anywhere is reported', () => {
    expect(findingsAfter((all) => { istioOperator(all).spec.meshConfig.trustDomain = 'cluster.local'; }))
      .toEqual(expect.arrayContaining([expect.stringContaining('trust domain "cluster.local" differs from "example.org"')]));
    expect(findingsAfter((all) => editConfig(all, 'agent.conf', (config) => { config.agent.trust_domain = 'example.com'; })))
      .toEqual([expect.stringContaining('trust domain "example.com" differs')]);
  });

  test('cluster name is the same in server, agent and controller manager', () => {
    const server = serverConf(objects);
    expect(Object.keys(pluginData(server, 'NodeAttestor', 'k8s_psat').clusters)).toEqual(['demo-cluster']);
    expect(Object.keys(pluginData(server, 'BundlePublisher', 'k8s_configmap').clusters)).toEqual(['demo-cluster']);
    expect(pluginData(agentConf(objects), 'NodeAttestor', 'k8s_psat').cluster).toBe('demo-cluster');
    expect(managerConf(objects).clusterName).toBe('demo-cluster');
  });

  test('a cluster name that differs is reported', () => {
    expect(findingsAfter((all) => editConfig(all, 'controller-manager-config.yaml', (config) => { config.clusterName = 'other'; })))
      .toEqual(expect.arrayContaining([expect.stringContaining('cluster "other" is not among the clusters')]));
  });

  test('settings from the environment flow to every component', () => {
    const custom = synthDeployment({ trustDomain: 'mesh.corp.internal', clusterName: 'prod-eu-1' });
    expect(checkManifests(custom.objects)).toEqual([]);
    expect(agentConf(custom.objects).agent.trust_domain).toBe('mesh.corp.internal');
    expect(istioOperator(custom.objects).spec.meshConfig.trustDomain).toBe('mesh.corp.internal');
    expect(managerConf(custom.objects).clusterName).toBe('prod-eu-1');
  });

  test('the agent dials the server Service and presents a token with the audience the server accepts', () => {
    const agent = agentConf(objects).agent;
    const service = onlyObject(objects, 'Service', 'spire-server');
    expect(agent.server_address).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc`);
    expect(service.spec.ports.map((port: any) => String(port.port))).toContain(agent.server_port);
    const token = agentPod(objects).volumes.find((volume: any) => volume.projected).projected.sources[0].serviceAccountToken;
    expect(pluginData(serverConf(objects), 'NodeAttestor', 'k8s_psat').clusters['demo-cluster'].audience).toEqual([token.audience]);
    expect(pluginData(agentConf(objects), 'NodeAttestor', 'k8s_psat').token_path).toBe(`/var/run/secrets/tokens/${token.path}`);
  });

  test('a server port the Service does not expose is reported', () => {
    expect(findingsAfter((all) => editConfig(all, 'agent.conf', (config) => { config.agent.server_port = '443'; })))
      .toEqual([expect.stringContaining('server_port 443 is not a port')]);
  });

  test('the agent reads the bundle the server publishes; a format mismatch is reported', () => {
    expect(findingsAfter((all) => editConfig(all, 'agent.conf', (config) => { config.agent.trust_bundle_format = 'pem'; })))
      .toEqual([expect.stringContaining('the agent reads /run/spire/bundle/bundle.spiffe (pem)')]);
  });

  test('the controller manager and the server share one API socket', () => {
    const pod = onlyObject(objects, 'StatefulSet', 'spire-server').spec.template.spec;
    const socketDir = path.posix.dirname(serverConf(objects).server.socket_path);
    expect(managerConf(objects).spireServerSocketPath).toBe(serverConf(objects).server.socket_path);
    const volumeAt = (name: string) => pod.containers.find((container: any) => container.name === name)
      .volumeMounts.find((mount: any) => mount.mountPath === socketDir)?.name;
    expect(volumeAt('spire-controller-manager')).toBe(volumeAt('spire-server'));
    expect(pod.volumes.find((volume: any) => volume.name === volumeAt('spire-server')).emptyDir).toEqual({});
  });
});

describe('ClusterSPIFFEIDs and SPIRE-enabled pods', () => {
  test('every ClusterSPIFFEID yields the Istio ID form and carries the controller manager class', () => {
    for (const identity of objectsOf(objects, 'ClusterSPIFFEID')) {
      expect(identity.spec.spiffeIDTemplate).toBe('spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}');
      expect(identity.spec.className).toBe(managerConf(objects).className);
    }
  });

  test('a ClusterSPIFFEID outside the Istio form or the controller class is reported', () => {
    expect(findingsAfter((all) => { onlyObject(all, 'ClusterSPIFFEID', MESH_IDENTITY).spec.spiffeIDTemplate = 'spiffe://{{ .TrustDomain }}/workload/{{ .PodMeta.Name }}'; }))
      .toContainEqual(expect.stringContaining('Istio accepts a workload identity only in the form'));
    expect(findingsAfter((all) => { delete onlyObject(all, 'ClusterSPIFFEID', MESH_IDENTITY).spec.className; }))
      .toContainEqual(expect.stringContaining('is not the controller manager\'s "spire-server-spire"'));
  });

  const spirePods = objectsOf(objects, 'Deployment').filter((deployment) =>
    /spire/.test(deployment.spec.template.metadata.annotations?.['inject.istio.io/templates'] ?? ''));

  test('the demo pair, the gateway and the four bookstore services are SPIRE-enabled', () => {
    expect(spirePods.map((deployment) => deployment.metadata.name).sort())
      .toEqual(['catalog', 'httpbin', 'istio-ingressgateway', 'ratings', 'reviews', 'sleep', 'storefront']);
  });

  test.each(spirePods.map((deployment) => [deployment.metadata.name, deployment]))('%s is selected by exactly one ClusterSPIFFEID and asks for the templates in an injected namespace', (_name, deployment) => {
    const podMetadata = deployment.spec.template.metadata;
    const namespaceLabels = onlyObject(objects, 'Namespace', deployment.metadata.namespace).metadata.labels;
    const selecting = objectsOf(objects, 'ClusterSPIFFEID').filter((identity) =>
      selectorMatches(identity.spec.podSelector, podMetadata.labels) && selectorMatches(identity.spec.namespaceSelector, namespaceLabels));
    expect(selecting).toHaveLength(1);
    expect(podMetadata.annotations['inject.istio.io/templates']).toMatch(/^(sidecar,spire|gateway,spire-gateway)$/);
    expect(namespaceLabels['istio-injection']).toBe('enabled');
    expect(deployment.spec.template.spec.serviceAccountName).toBe(deployment.metadata.name);
  });

  test('bookstore pods get their ID by namespace, except ratings, which opts in by pod label', () => {
    const identityOf = (name: string) => {
      const pod = onlyObject(objects, 'Deployment', name).spec.template.metadata;
      return objectsOf(objects, 'ClusterSPIFFEID').find((identity) => selectorMatches(identity.spec.podSelector, pod.labels)
        && selectorMatches(identity.spec.namespaceSelector, onlyObject(objects, 'Namespace', 'bookstore').metadata.labels)).metadata.name;
    };
    expect(['storefront', 'catalog', 'reviews'].map(identityOf)).toEqual(Array(3).fill('bookstore-namespace-workloads'));
    expect(identityOf('ratings')).toBe(MESH_IDENTITY);
  });

  test('httpbin lets in only sleep and the ingress gateway, by the IDs their ClusterSPIFFEID renders, over strict mTLS', () => {
    const renderedId = (name: string) => {
      const deployment = onlyObject(objects, 'Deployment', name);
      const identity = objectsOf(objects, 'ClusterSPIFFEID').find((candidate) => selectorMatches(candidate.spec.podSelector, deployment.spec.template.metadata.labels));
      return identity.spec.spiffeIDTemplate
        .replace('{{ .TrustDomain }}', serverConf(objects).server.trust_domain)
        .replace('{{ .PodMeta.Namespace }}', deployment.metadata.namespace)
        .replace('{{ .PodSpec.ServiceAccountName }}', deployment.spec.template.spec.serviceAccountName);
    };
    const policy = onlyObject(objects, 'AuthorizationPolicy', 'httpbin');
    expect(policy.spec.action).toBe('ALLOW');
    expect(policy.spec.rules).toEqual([{ from: [{ source: { principals: ['sleep', 'istio-ingressgateway'].map((name) => renderedId(name).replace('spiffe://', '')) } }] }]);
    const guarded = spirePods.filter((deployment) => deployment.metadata.namespace === policy.metadata.namespace
      && selectorMatches(policy.spec.selector, deployment.spec.template.metadata.labels));
    expect(guarded.map((deployment) => deployment.metadata.name)).toEqual(['httpbin']);
    const peerAuthentication = onlyObject(objects, 'PeerAuthentication');
    expect(peerAuthentication.metadata.namespace).toBe(policy.metadata.namespace);
    expect(peerAuthentication.spec).toEqual({ mtls: { mode: 'STRICT' } });
  });

  test('a principal no SPIRE-enabled pod gets is reported, whether the policy or the caller changed', () => {
    expect(findingsAfter((all) => { onlyObject(all, 'AuthorizationPolicy', 'httpbin').spec.rules[0].from[0].source.principals[0] = 'example.org/ns/demo/sa/sleepy'; }))
      .toEqual([expect.stringContaining('principal example.org/ns/demo/sa/sleepy is not the ID a ClusterSPIFFEID gives any SPIRE-enabled pod in the input')]);
    expect(findingsAfter((all) => { onlyObject(all, 'Deployment', 'sleep').spec.template.spec.serviceAccountName = 'client'; }))
      .toEqual([expect.stringContaining('principal example.org/ns/demo/sa/sleep is not the ID')]);
    // Pods of a federated trust domain run elsewhere, so the input cannot tell.
    expect(findingsAfter((all) => { onlyObject(all, 'AuthorizationPolicy', 'httpbin').spec.rules[0].from[0].source.principals.push('partner.example/ns/shop/sa/client'); }))
      .toEqual([]);
  });

  test('a SPIRE-enabled pod without the selector label, or in a namespace without injection, is reported', () => {
    expect(findingsAfter((all) => { delete onlyObject(all, 'Deployment', 'sleep').spec.template.metadata.labels['spiffe.io/spire-managed-identity']; }))
      .toEqual([expect.stringContaining('no ClusterSPIFFEID selects this pod'), expect.stringContaining('principal example.org/ns/demo/sa/sleep is not the ID')]);
    expect(findingsAfter((all) => { delete onlyObject(all, 'Namespace', 'demo').metadata.labels['istio-injection']; }))
      .toEqual([expect.stringContaining('does not have Istio injection enabled'), expect.stringContaining('does not have Istio injection enabled')]);
  });
});
