'use strict';
// The checks the e2e suite reads from the API server's, SPIRE's and the node's JSON, and the
// must-fail copies of the output. Usage: node pods.js <command> <args...>; see the table
// at the bottom.
const fs = require('fs');
const path = require('path');
const manifests = require('../../conformance/lib/manifests');

const { ofKind, describe, fail, runCommand } = manifests;
// A run's server (serve.js) answers all its calls in one process: the output a run applies does
// not change while it runs, so each directory is read once.
const loaded = new Map();
const loadDir = (dir) => {
  if (!loaded.has(dir)) loaded.set(dir, manifests.loadDir(dir));
  return loaded.get(dir);
};
// Calls made before that server listens are processes of their own: a command loads only the
// module it needs.
const lazy = (file, name) => (...args) => require(file)[name](...args);
const assertInjection = lazy('../../conformance/lib/assert-injection', 'assertInjection');
const [podsState, sdsReceived, sds, securityContexts, federationCheck] = ['podsState', 'sdsReceived', 'sds', 'securityContexts', 'federationCheck']
  .map((name) => lazy('./node-checks', name));
const rbacUse = lazy('./rbac-use', 'rbacUse');
const kubeGet = { connect: lazy('./kube-get', 'connect'), get: lazy('./kube-get', 'get') };
const [probeDeployment, svidLatencies, standInPods, rss, cpuSeconds] = ['probeDeployment', 'svidLatencies', 'standInPods', 'rss', 'cpuSeconds']
  .map((name) => lazy('./scale-checks', name));
const cpuByProcess = lazy('./cost', 'cpuByProcess');
const [sdsAgainSince, sdsErrorsSince, rotated, podRestarts, entries] = ['sdsAgainSince', 'sdsErrorsSince', 'rotated', 'podRestarts', 'entries']
  .map((name) => lazy('./fault-checks', name));

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const containerOf = (pod, name) => pod.spec.containers.find((c) => c.name === name) || fail(`pod ${pod.metadata.name} has no container ${name}`);

function crdNames(dir) {
  console.log(ofKind(loadDir(dir), 'CustomResourceDefinition', 'apiextensions.k8s.io').map((e) => `crd/${e.obj.metadata.name}`).join(' '));
}

// Facts the assertions need from the synthesized output.
function facts(dir) {
  const all = loadDir(dir);
  const configWith = (key) => {
    const found = ofKind(all, 'ConfigMap', 'v1').find(({ obj }) => obj.data && key in obj.data) || fail(`no ConfigMap holds ${key}`);
    return JSON.parse(found.obj.data[key]);
  };
  const server = configWith('server.conf');
  const manager = configWith('controller-manager-config.yaml');
  const agent = configWith('agent.conf');
  const psat = [].concat(agent.plugins.NodeAttestor).find((p) => p.k8s_psat).k8s_psat.plugin_data;
  const identities = ofKind(all, 'ClusterSPIFFEID', 'spire.spiffe.io');
  const [operator] = ofKind(all, 'IstioOperator', 'install.istio.io');
  const injector = operator ? (operator.obj.spec.values || {}).sidecarInjectorWebhook || {} : {};
  const publisher = [].concat(server.plugins.BundlePublisher || []).find((p) => p.k8s_configmap);
  const published = publisher ? Object.values(publisher.k8s_configmap.plugin_data.clusters)[0] : {};
  console.log(JSON.stringify({
    trustDomain: server.server.trust_domain,
    agentCluster: psat.cluster,
    managerClassName: manager.className || '',
    identities: identities.map(({ obj }) => ({ name: obj.metadata.name, className: obj.spec.className || '', selector: obj.spec.podSelector.matchLabels })),
    socketPath: agent.agent.socket_path,
    serverSocketPath: server.server.socket_path,
    csiDriver: (ofKind(all, 'CSIDriver', 'storage.k8s.io')[0] || fail('no CSIDriver in the output')).obj.metadata.name,
    spireTemplates: Object.keys(injector.templates || {}),
    bundleConfigMap: published.configmap_name ? `${published.namespace}/${published.configmap_name}/${published.configmap_key}` : '',
    datastoreSecret: datastoreSecret(all, server),
  }));
}

// "NAMESPACE/NAME/KEY" of the Secret whose variable server.conf's connection string names, or ''
// for sqlite.
function datastoreSecret(all, server) {
  const datastore = [].concat(server.plugins.DataStore)[0].sql.plugin_data;
  const variable = (/^\$\{(\w+)\}$/.exec(datastore.connection_string) || [])[1];
  if (datastore.database_type === 'sqlite3' || !variable) return '';
  const [statefulSet] = ofKind(all, 'StatefulSet', 'apps').filter(({ obj }) => obj.spec.template.spec.containers.some((c) => c.name === 'spire-server'));
  const env = statefulSet.obj.spec.template.spec.containers.find((c) => c.name === 'spire-server').env || [];
  const ref = (env.find((e) => e.name === variable) || fail(`no variable ${variable} in the spire-server container`)).valueFrom.secretKeyRef;
  return `${statefulSet.obj.metadata.namespace}/${ref.name}/${ref.key}`;
}

// stages DIR: "FILE ROLE" for each manifest file in apply order; the role says what the suite
// does with it: crds, spire, identities, istio (an IstioOperator to install) or workloads.
function stages(dir) {
  const byFile = new Map();
  for (const e of loadDir(dir)) byFile.set(e.file, [...(byFile.get(e.file) || []), e.obj]);
  const has = (objects, ...kinds) => objects.some((o) => kinds.includes(o.kind));
  const role = (objects) => {
    if (has(objects, 'CustomResourceDefinition')) return 'crds';
    if (has(objects, 'IstioOperator')) return 'istio';
    if (objects.some((o) => o.kind === 'ConfigMap' && o.data && 'server.conf' in o.data)) return 'spire';
    if (objects.every((o) => ['ClusterSPIFFEID', 'ClusterFederatedTrustDomain', 'ClusterStaticEntry'].includes(o.kind))) return 'identities';
    return 'workloads';
  };
  for (const file of [...byFile.keys()].sort()) console.log(`${file} ${role(byFile.get(file))}`);
}

// partner-bundles-needed FILE DIR: the trust domains whose bundle docs/federation.md has the user set by
// hand before FILE: those its ClusterSPIFFEIDs federate with, declared in an earlier file of DIR
// without their bundle.
function partnerBundlesNeeded(file, dir) {
  const earlier = loadDir(dir).filter((e) => path.basename(e.file) < path.basename(file));
  const declaredWithoutBundle = new Set(ofKind(earlier, 'ClusterFederatedTrustDomain', 'spire.spiffe.io')
    .filter(({ obj }) => !obj.spec.trustDomainBundle).map(({ obj }) => obj.spec.trustDomain));
  const federated = ofKind(loadDir(dir).filter((e) => path.basename(e.file) === path.basename(file)), 'ClusterSPIFFEID', 'spire.spiffe.io')
    .flatMap(({ obj }) => obj.spec.federatesWith || []);
  for (const trustDomain of new Set(federated)) if (declaredWithoutBundle.has(trustDomain)) console.log(trustDomain);
}

// bundle-endpoint-hosts DIR: "TRUST_DOMAIN HOST" of each partner's bundle endpoint URL.
function bundleEndpointHosts(dir) {
  for (const { obj } of ofKind(loadDir(dir), 'ClusterFederatedTrustDomain', 'spire.spiffe.io')) {
    console.log(`${obj.spec.trustDomain} ${new URL(obj.spec.bundleEndpointURL).hostname}`);
  }
}

// liveness-window DIR CONTAINER: seconds from a container's first failed liveness probe to its
// restart (periodSeconds x failureThreshold, Kubernetes' defaults where unset), for the output's
// pod template that has it.
function livenessWindow(dir, containerName) {
  const container = loadDir(dir).flatMap(({ obj }) => ((obj.spec && obj.spec.template && obj.spec.template.spec) || {}).containers || [])
    .find((c) => c.name === containerName) || fail(`no container ${containerName} in ${dir}`);
  const probe = container.livenessProbe || fail(`container ${containerName} has no liveness probe`);
  console.log((probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3));
}

// claims DIR: "NAME SIZE UID:GID" for every claim the output's StatefulSets make, one per replica
// (`<template>-<statefulset>-<ordinal>`), owned by the pod's user and fsGroup.
function claims(dir) {
  for (const { obj } of ofKind(loadDir(dir), 'StatefulSet', 'apps')) {
    const context = obj.spec.template.spec.securityContext || {};
    const owner = `${context.runAsUser ?? 0}:${context.fsGroup ?? context.runAsGroup ?? 0}`;
    for (const claim of obj.spec.volumeClaimTemplates || []) {
      for (let ordinal = 0; ordinal < (obj.spec.replicas ?? 1); ordinal++) {
        console.log(`${claim.metadata.name}-${obj.metadata.name}-${ordinal} ${claim.spec.resources.requests.storage} ${owner}`);
      }
    }
  }
}

// entries-for-pods PODS_JSON AGENTS_JSON(node name -> agent ID) ENTRIES_JSON TRUST_DOMAIN: one
// line per pod; fails unless each has exactly one entry with the promised ID and parent.
function entriesForPods(podsFile, agentsFile, entriesFile, trustDomain) {
  const pods = readJson(podsFile).items;
  const agents = readJson(agentsFile);
  const entries = readJson(entriesFile).entries || [];
  const idOf = (id) => `spiffe://${id.trust_domain}${id.path}`;
  const problems = [];
  for (const pod of pods) {
    const mine = entries.filter((e) => e.selectors.some((s) => s.type === 'k8s' && s.value === `pod-uid:${pod.metadata.uid}`));
    const want = `spiffe://${trustDomain}/ns/${pod.metadata.namespace}/sa/${pod.spec.serviceAccountName}`;
    const parent = agents[pod.spec.nodeName];
    const name = `${pod.metadata.namespace}/${pod.metadata.name} on ${pod.spec.nodeName}`;
    if (mine.length !== 1) problems.push(`${name}: ${mine.length} entries select its pod UID, expected exactly 1`);
    else if (idOf(mine[0].spiffe_id) !== want) problems.push(`${name}: entry SPIFFE ID ${idOf(mine[0].spiffe_id)}, expected ${want}`);
    else if (idOf(mine[0].parent_id) !== parent) problems.push(`${name}: entry parent ${idOf(mine[0].parent_id)}, expected its node's agent ${parent}`);
    else console.log(`ok: ${name}: one entry ${mine[0].id} ${want}, parent ${parent}`);
  }
  if (problems.length > 0) fail(problems.join('\n  '));
}

// count-entries ENTRIES_JSON SPIFFE_ID
function countEntries(entriesFile, spiffeId) {
  const entries = readJson(entriesFile).entries || [];
  console.log(entries.filter((e) => `spiffe://${e.spiffe_id.trust_domain}${e.spiffe_id.path}` === spiffeId).length);
}

// entry-ids ENTRIES_JSON PARENT_ID: the IDs of the entries an agent is the parent of.
function entryIds(entriesFile, parentId) {
  for (const e of readJson(entriesFile).entries || []) {
    if (`spiffe://${e.parent_id.trust_domain}${e.parent_id.path}` === parentId) console.log(`${e.id} spiffe://${e.spiffe_id.trust_domain}${e.spiffe_id.path}`);
  }
}

// agents AGENTS_JSON: "ID ATTESTATION_TYPE" per attested agent.
function agents(agentsFile) {
  for (const a of readJson(agentsFile).agents || []) console.log(`spiffe://${a.id.trust_domain}${a.id.path} ${a.attestation_type}`);
}

function writeDocuments(out, objects) {
  fs.writeFileSync(out, objects.map((obj) => manifests.YAML.stringify(obj, { lineWidth: 0 })).join('---\n'));
}

// The must-fail copies: each breaks one thing a real cluster would reject at run time.
const MUTATIONS = {
  // The agent presents a cluster name the server's k8s_psat attestor is not configured for.
  'cluster-name': (all) => {
    const cm = ofKind(all, 'ConfigMap', 'v1').find(({ obj }) => obj.data && 'agent.conf' in obj.data);
    const conf = JSON.parse(cm.obj.data['agent.conf']);
    const psat = [].concat(conf.plugins.NodeAttestor).find((p) => p.k8s_psat).k8s_psat.plugin_data;
    psat.cluster = `${psat.cluster}-elsewhere`;
    cm.obj.data['agent.conf'] = JSON.stringify(conf, null, 2);
    return `agent k8s_psat cluster is now ${psat.cluster}`;
  },
  // The server serves metrics on its loopback only, which no scraper outside the pod reaches.
  'metrics-host': (all) => {
    const cm = ofKind(all, 'ConfigMap', 'v1').find(({ obj }) => obj.data && 'server.conf' in obj.data);
    const conf = JSON.parse(cm.obj.data['server.conf']);
    conf.telemetry.Prometheus.host = '127.0.0.1';
    cm.obj.data['server.conf'] = JSON.stringify(conf, null, 2);
    return 'server telemetry Prometheus host is now 127.0.0.1';
  },
  // The server's liveness follows SPIRE's /live, which fails whenever the datastore does: every
  // replica of a shared database is restarted at once while it is away.
  'liveness-on-datastore': (all) => {
    const [server] = ofKind(all, 'StatefulSet', 'apps').filter(({ obj }) => obj.spec.template.spec.containers.some((c) => c.name === 'spire-server'));
    const container = server.obj.spec.template.spec.containers.find((c) => c.name === 'spire-server');
    const health = container.ports.find((p) => p.name === 'server-health') || fail('no server-health port on spire-server');
    const { tcpSocket, httpGet, ...timing } = container.livenessProbe;
    container.livenessProbe = { ...timing, httpGet: { path: '/live', port: health.containerPort, scheme: 'HTTP' } };
    return `spire-server's liveness probe is now GET /live on port ${health.containerPort}, every ${timing.periodSeconds}s`;
  },
  // The server keeps its datastore and CA key in an emptyDir: they go with its pod.
  'server-data-ephemeral': (all) => {
    const [server] = ofKind(all, 'StatefulSet', 'apps').filter(({ obj }) => (obj.spec.volumeClaimTemplates || []).length > 0);
    if (!server) fail('no StatefulSet with a volume claim template');
    const names = server.obj.spec.volumeClaimTemplates.map((claim) => claim.metadata.name);
    server.obj.spec.template.spec.volumes = [...(server.obj.spec.template.spec.volumes || []), ...names.map((name) => ({ name, emptyDir: {} }))];
    delete server.obj.spec.volumeClaimTemplates;
    return `${describe(server)} keeps ${names.join(', ')} in an emptyDir instead of a PersistentVolumeClaim`;
  },
  // A ClusterSPIFFEID of a class the controller manager does not handle.
  'class-name': (all) => {
    const [id] = ofKind(all, 'ClusterSPIFFEID', 'spire.spiffe.io');
    id.obj.spec.className = `${id.obj.spec.className}-unhandled`;
    return `${describe(id)} className is now ${id.obj.spec.className}`;
  },
  // The server may no longer create TokenReviews, which k8s_psat needs to check agent tokens.
  'rbac-tokenreviews': (all) => {
    const role = ofKind(all, 'ClusterRole', 'rbac.authorization.k8s.io')
      .find(({ obj }) => (obj.rules || []).some((r) => (r.resources || []).includes('tokenreviews')));
    role.obj.rules = role.obj.rules.filter((r) => !(r.resources || []).includes('tokenreviews'));
    return `${describe(role)} no longer grants create on tokenreviews`;
  },
  // The SPIRE injection templates name a CSI driver that does not exist: the kubelet cannot
  // mount the pods' volume, so they never start.
  'template-csi-driver': (all) => replaceInTemplates(all, 'driver: csi.spiffe.io', 'driver: csi.spiffe.example', 'mount CSI driver csi.spiffe.example'),
  // The SPIRE injection templates mount the CSI volume where pilot-agent does not look, under a
  // name of its own, so istio-proxy's socket directory stays Istio's default emptyDir.
  'template-socket-path': (all) => {
    replaceInTemplates(all, 'name: workload-socket', 'name: workload-socket-elsewhere', '');
    return replaceInTemplates(all, 'mountPath: /run/secrets/workload-spiffe-uds', 'mountPath: /run/secrets/workload-spiffe-elsewhere',
      'mount the CSI volume (workload-socket-elsewhere) at /run/secrets/workload-spiffe-elsewhere');
  },
  // The ClusterSPIFFEIDs select pods by a label value no pod carries.
  'identity-selector': (all) => {
    const changed = [];
    for (const id of ofKind(all, 'ClusterSPIFFEID', 'spire.spiffe.io')) {
      const labels = (id.obj.spec.podSelector || {}).matchLabels || {};
      for (const key of Object.keys(labels)) labels[key] = `${labels[key]}-elsewhere`;
      if (Object.keys(labels).length > 0) changed.push(describe(id));
    }
    return `${changed.join(', ')} now select pods by label values ending in -elsewhere`;
  },
  // The agent serves the Workload API from a directory of its own, not the one the CSI driver
  // publishes to pods.
  'agent-socket-dir': (all) => {
    const { obj } = ofKind(all, 'DaemonSet', 'apps').find(({ obj: o }) => o.metadata.name === 'spire-agent');
    const pod = obj.spec.template.spec;
    const agent = pod.containers.find((c) => c.name === 'spire-agent');
    const mount = agent.volumeMounts.find((m) => m.mountPath === '/run/secrets/workload-spiffe-uds');
    pod.volumes.push({ name: 'agent-own-socket-dir', emptyDir: {} });
    const published = mount.name;
    mount.name = 'agent-own-socket-dir';
    return `the spire-agent container serves its socket from an emptyDir, not volume ${published} the CSI driver publishes`;
  },
  // The federation example's federating identities back in the file that declares the partner,
  // as before they had a stage of their own: applied before the partner's bundle is set.
  'federation-old-order': (all) => {
    const declaring = all.find((e) => e.obj.kind === 'ClusterFederatedTrustDomain') || fail('no ClusterFederatedTrustDomain to federate with');
    const moved = all.filter((e) => e.obj.kind === 'ClusterSPIFFEID' && (e.obj.spec.federatesWith || []).length > 0 && e.file !== declaring.file);
    if (moved.length === 0) fail('no federating ClusterSPIFFEID in a later file than the ClusterFederatedTrustDomain');
    const from = [...new Set(moved.map((e) => path.basename(e.file)))];
    for (const e of moved) e.file = declaring.file;
    return `${moved.map(describe).join(', ')} moved from ${from.join(', ')} into ${path.basename(declaring.file)}, beside the partner's declaration`;
  },
  // A partner's bundle endpoint is expected to present another SPIFFE ID than it does.
  'federation-endpoint-id': (all) => {
    const [domain] = ofKind(all, 'ClusterFederatedTrustDomain', 'spire.spiffe.io');
    const profile = domain.obj.spec.bundleEndpointProfile;
    profile.endpointSPIFFEID = `spiffe://${domain.obj.spec.trustDomain}/spire/elsewhere`;
    return `${describe(domain)} now expects the endpoint SPIFFE ID ${profile.endpointSPIFFEID}`;
  },
  // The agent verifies the kubelet's serving certificate, which on this node (as on most) is
  // self-signed, so it cannot ask the kubelet who its callers are.
  'kubelet-verification': (all) => {
    const cm = ofKind(all, 'ConfigMap', 'v1').find(({ obj }) => obj.data && 'agent.conf' in obj.data);
    const conf = JSON.parse(cm.obj.data['agent.conf']);
    const k8s = [].concat(conf.plugins.WorkloadAttestor).find((p) => p.k8s).k8s.plugin_data;
    k8s.skip_kubelet_verification = false;
    cm.obj.data['agent.conf'] = JSON.stringify(conf, null, 2);
    return 'the agent k8s workload attestor now verifies the kubelet serving certificate (skip_kubelet_verification false)';
  },
};

function replaceInTemplates(all, from, to, what) {
  const [operator] = ofKind(all, 'IstioOperator', 'install.istio.io');
  const templates = operator.obj.spec.values.sidecarInjectorWebhook.templates;
  for (const name of Object.keys(templates)) {
    if (!templates[name].includes(from)) fail(`injection template ${name} has no '${from}'`);
    templates[name] = templates[name].replaceAll(from, to);
  }
  return `${describe(operator)} injection templates ${Object.keys(templates).join(', ')} now ${what}`;
}

function mutate(name, inDir, outDir) {
  const mutation = MUTATIONS[name] || fail(`unknown mutation ${name}; one of ${Object.keys(MUTATIONS).join(', ')}`);
  const byFile = new Map();
  const all = loadDir(inDir);
  console.log(mutation(all));
  for (const e of all) byFile.set(e.file, [...(byFile.get(e.file) || []), e.obj]);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [file, objects] of byFile) writeDocuments(path.join(outDir, path.basename(file)), objects);
}

// spire-enabled-pods PODS_JSON FACTS: the pods that ask for one of the output's own injection
// templates (the SPIRE ones), as a pod list.
function spireEnabledPods(podsFile, factsJson) {
  const spireTemplates = new Set(JSON.parse(factsJson).spireTemplates);
  const asked = (pod) => ((pod.metadata.annotations || {})['inject.istio.io/templates'] || '').split(',').map((t) => t.trim());
  console.log(JSON.stringify({ items: readJson(podsFile).items.filter((pod) => asked(pod).some((t) => spireTemplates.has(t))) }));
}

// unreconciled IDENTITIES_JSON [any]: "NAME CLASS_NAME" of each ClusterSPIFFEID without status;
// succeeds when there are such beside reconciled ones (or, with any, when there are such).
function unreconciled(identitiesFile, any) {
  const items = readJson(identitiesFile).items;
  const reconciled = (item) => Boolean(item.status && item.status.stats);
  const left = items.filter((item) => !reconciled(item));
  for (const item of left) console.log(`${item.metadata.name} ${item.spec.className || ''}`);
  process.exit(left.length > 0 && (any === 'any' || items.some(reconciled)) ? 0 : 1);
}

// injected-pods PODS_JSON SOCKET_PATH PROFILE_MODE: the pods that ask for Istio's injection
// templates (inject.istio.io/templates) as istiod's webhook admitted them; fails unless each
// carries the SPIRE wiring the conformance suite checks on kube-inject's output, in the sidecar
// mode the pod asks for (sidecar.istio.io/nativeSidecar) or else istiod's.
function injectedPods(podsFile, socketPath, profileMode) {
  const pods = readJson(podsFile).items.filter((pod) => 'inject.istio.io/templates' in (pod.metadata.annotations || {}));
  if (pods.length === 0) fail('no pod asks for injection templates (inject.istio.io/templates)');
  const problems = [];
  for (const pod of pods) {
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const templates = pod.metadata.annotations['inject.istio.io/templates'];
    const asked = (pod.metadata.annotations || {})['sidecar.istio.io/nativeSidecar'];
    const expectedMode = { true: 'native', false: 'classic' }[asked] || profileMode;
    const { passed, failures } = assertInjection({ template: pod, socketPath, profileMode, expectedMode });
    if (failures.length > 0) problems.push(`${name} (${templates}): ${failures.join('; ')}`);
    else console.log(`ok: ${name} (${templates}): ${passed.length} checks`);
  }
  if (problems.length > 0) fail(problems.join('\n  '));
}

// sidecar-deployments DEPLOYMENTS_JSON: "NAMESPACE NAME" of each Deployment whose pods ask for
// the sidecar injection template.
function sidecarDeployments(deploymentsFile) {
  for (const d of readJson(deploymentsFile).items) {
    const templates = (d.spec.template.metadata.annotations || {})['inject.istio.io/templates'] || '';
    if (templates.split(',').map((t) => t.trim()).includes('sidecar')) console.log(`${d.metadata.namespace} ${d.metadata.name}`);
  }
}

// "IP:PORT" at the pod's IP of the container's first port whose name matches; fails naming WHAT
// when it has none.
function addressOf(podFile, containerName, matches, what) {
  const pod = readJson(podFile);
  const port = (containerOf(pod, containerName).ports || []).find((p) => matches(p.name || '')) ||
    fail(`pod ${pod.metadata.name}: container ${containerName} has no port ${what}`);
  console.log(`${pod.status.podIP || fail(`pod ${pod.metadata.name} has no IP yet`)}:${port.containerPort}`);
}

// metrics-address POD_JSON CONTAINER: "IP:PORT" of the container's port named for metrics
// ("metrics", "cm-metrics") at the pod's IP.
const metricsAddress = (podFile, containerName) => addressOf(podFile, containerName, (name) => /(^|-)metrics$/.test(name), 'named for metrics');
// port-address POD_JSON CONTAINER PORT_NAME: "IP:PORT" of the container's port of that name.
const portAddress = (podFile, containerName, portName) => addressOf(podFile, containerName, (name) => name === portName, portName);

// container-pid POD_JSON CONTAINER: the node's PID of the container's process, as containerd's
// shim recorded it beside the container's bundle.
function containerPid(podFile, containerName) {
  const pod = readJson(podFile);
  const status = (pod.status.containerStatuses || []).find((s) => s.name === containerName);
  if (!status || !status.state.running) fail(`pod ${pod.metadata.name}: container ${containerName} is not running`);
  const id = status.containerID.replace('containerd://', '');
  console.log(fs.readFileSync(`/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}/init.pid`, 'utf8').trim());
}

// rollouts-incomplete DEPLOYMENTS_JSON: "NAMESPACE/NAME" of each Deployment whose rollout has not
// completed, as `kubectl rollout status` judges it: its generation observed, every replica
// updated and available, none of an older ReplicaSet left.
function rolloutsIncomplete(file) {
  for (const d of readJson(file).items) {
    const { observedGeneration = 0, replicas = 0, updatedReplicas = 0, availableReplicas = 0 } = d.status || {};
    const wanted = d.spec.replicas ?? 1;
    const complete = observedGeneration >= d.metadata.generation && updatedReplicas >= wanted &&
      replicas <= updatedReplicas && availableReplicas >= updatedReplicas;
    if (!complete) console.log(`${d.metadata.namespace}/${d.metadata.name}`);
  }
}

// condition OBJECT_JSON TYPE: the status of the object's condition of that type ("True", "False",
// "Unknown"), or nothing when it has none.
const condition = (file, type) => console.log(((readJson(file).status.conditions || []).find((c) => c.type === type) || {}).status || '');

// field JSON_FILE PATH: the value at a dotted path (status.readyReplicas), or nothing.
function field(file, dotted) {
  const value = dotted.split('.').reduce((object, key) => (object == null ? undefined : object[key]), readJson(file));
  if (value != null) console.log(typeof value === 'object' ? JSON.stringify(value) : value);
}

// get PATH [KEY=VALUE...]: the API server's answer to GET PATH with that query (JSON, or a log's
// text), from a run's server; on another answer its message on standard error, as kubectl's.
async function get(apiPath, ...query) {
  try {
    process.stdout.write(await kubeGet.get(apiPath, Object.fromEntries(query.map((pair) => pair.split(/=(.*)/s, 2)))));
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
}

// split-crds FILE CRDS_OUT OBJECTS_OUT: FILE's CustomResourceDefinitions into one file, the rest
// into the other, in order. By the text of its documents, block YAML as istioctl and helm write it
// (a top-level kind line): parsing a megabyte of YAML would cost each run a second of CPU.
function splitCrds(file, crdsOut, objectsOut) {
  const documents = fs.readFileSync(file, 'utf8').split(/^---[^\n]*$/m).filter((d) => /^\w/m.test(d));
  const crd = (d) => /^kind: CustomResourceDefinition\s*$/m.test(d);
  fs.writeFileSync(crdsOut, documents.filter(crd).join('---'));
  fs.writeFileSync(objectsOut, documents.filter((d) => !crd(d)).join('---'));
}

// x509-authorities BUNDLE_JSON: the X.509 authorities of a SPIFFE bundle (JWKS), sorted, joined by commas.
const x509Authorities = (file) => console.log(readJson(file).keys.filter((k) => k.use === 'x509-svid').map((k) => k.x5c[0]).sort().join(','));

// facts-lines FACTS_JSON: "NAME<tab>VALUE" for each fact, for bash to read once: lists of names
// joined by commas, anything else structured as JSON.
const factValue = (value) => {
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : value;
};
const factsLines = (json) => Object.entries(JSON.parse(json)).forEach(([name, value]) => console.log(`${name}\t${factValue(value)}`));

const commands = {
  'crd-names': crdNames,
  facts,
  stages,
  claims,
  'liveness-window': livenessWindow,
  'partner-bundles-needed': partnerBundlesNeeded,
  'bundle-endpoint-hosts': bundleEndpointHosts,
  federation: federationCheck,
  'entries-for-pods': entriesForPods,
  'count-entries': countEntries,
  'entry-ids': entryIds,
  agents,
  mutate,
  'injected-pods': injectedPods,
  'metrics-address': metricsAddress,
  'port-address': portAddress,
  'container-pid': containerPid,
  'rollouts-incomplete': rolloutsIncomplete,
  condition,
  field,
  'spire-enabled-pods': spireEnabledPods,
  unreconciled,
  'pods-state': podsState,
  'sds-received': sdsReceived,
  sds,
  'security-contexts': securityContexts,
  'sidecar-deployments': sidecarDeployments,
  'sds-again-since': sdsAgainSince,
  'sds-errors-since': sdsErrorsSince,
  rotated,
  'pod-restarts': podRestarts,
  'rbac-use': rbacUse,
  'probe-deployment': probeDeployment,
  'svid-latencies': svidLatencies,
  'stand-in-pods': standInPods,
  rss,
  'cpu-seconds': cpuSeconds,
  'cpu-by-process': cpuByProcess,
  entries,
  names: (file) => readJson(file).items.forEach((pod) => console.log(`${pod.metadata.namespace} ${pod.metadata.name}`)),
  count: (file) => console.log(readJson(file).items.length),
  mutations: () => console.log(Object.keys(MUTATIONS).join(' ')),
  'facts-lines': factsLines,
  // running-init-containers PODS_JSON: "NAMESPACE POD CONTAINER" of each init container running now.
  'running-init-containers': (file) => readJson(file).items.forEach((pod) => (pod.status.initContainerStatuses || [])
    .filter((s) => s.state && s.state.running).forEach((s) => console.log(`${pod.metadata.namespace} ${pod.metadata.name} ${s.name}`))),
  'split-crds': splitCrds,
  'x509-authorities': x509Authorities,
  get,
  // serve PORT API_SERVER CA CERT KEY: the run's server, asking that API server as the admin.
  serve: (port, ...apiServer) => {
    kubeGet.connect(...apiServer);
    require('./serve').serve(commands, port);
  },
};

runCommand(commands);
