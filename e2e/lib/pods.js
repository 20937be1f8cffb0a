'use strict';
// What the e2e suite does in place of a kubelet and a container runtime, and the checks it reads
// from SPIRE's and the API server's JSON. Usage: node pods.js <command> <args...>; see the table
// at the bottom.
const fs = require('fs');
const path = require('path');
const { YAML, loadDir, ofKind, describe, fail, runCommand } = require('../../conformance/lib/manifests');
const { assertInjection } = require('../../conformance/lib/assert-injection');

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
// The service account volume the API server adds to every pod; in-cluster clients read it at this
// fixed path, so the suite mounts it there in a private mount namespace instead of remapping it.
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function containerOf(pod, name) {
  return pod.spec.containers.find((c) => c.name === name) || fail(`pod ${pod.metadata.name} has no container ${name}`);
}

// How each mounted volume is stood in for: a scratch directory per volume, and what to put in it.
// ConfigMap volumes get one copy per container, since each container's copy is remapped to its
// own mounts.
function volumeSource(pod, volume, podDir, nodeDir, containerName) {
  const where = (...parts) => path.join(...parts);
  if (volume.configMap) {
    const { name, optional } = volume.configMap;
    return { kind: 'configMap', name, optional: optional === true, dir: where(podDir, containerName, volume.name) };
  }
  if (volume.secret) return { kind: 'secret', name: volume.secret.secretName, optional: volume.secret.optional === true, dir: where(podDir, volume.name) };
  if (volume.emptyDir) return { kind: 'emptyDir', dir: where(podDir, volume.name) };
  if (volume.hostPath) return { kind: 'hostPath', dir: where(nodeDir, volume.hostPath.path) };
  if (volume.csi) return { kind: 'csi', driver: volume.csi.driver, dir: where(podDir, volume.name) };
  const sources = (volume.projected && volume.projected.sources) || [];
  const token = sources.find((s) => s.serviceAccountToken);
  if (token && sources.length === 1) {
    const t = token.serviceAccountToken;
    return { kind: 'token', audience: t.audience || '', seconds: t.expirationSeconds || 3600, file: t.path, dir: where(podDir, volume.name) };
  }
  if (token) return { kind: 'serviceAccount', dir: where(podDir, volume.name) };
  return fail(`pod ${pod.metadata.name}: volume ${volume.name} is of a kind the suite does not stand in for`);
}

const QUANTITY_SUFFIXES = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const quantity = (value) => {
  const match = /^([0-9.]+)([A-Za-z]*)$/.exec(String(value)) || fail(`not a quantity: ${value}`);
  return Number(match[1]) * (QUANTITY_SUFFIXES[match[2]] ?? 1);
};

// A resourceFieldRef as the kubelet resolves it: the container's limit, else the node's
// allocatable; requests fall back to zero. Rounded up in units of the divisor.
function resourceFieldValue(ref, container, node) {
  const [kind, resource] = ref.resource.split('.');
  const declared = ((container.resources || {})[kind] || {})[resource];
  const fallback = kind === 'limits' ? node.status.allocatable[resource] : '0';
  return String(Math.ceil(quantity(declared ?? fallback) / quantity(ref.divisor ?? '1')));
}

// plan POD_JSON NODE_JSON CONTAINER POD_DIR NODE_DIR: the container's mounts, env and args, with
// every mount path (longest first) rewritten to its scratch directory and 0.0.0.0 to the pod IP.
function plan(podFile, nodeFile, containerName, podDir, nodeDir) {
  const pod = readJson(podFile);
  const node = readJson(nodeFile);
  const container = containerOf(pod, containerName);
  const volumes = new Map(pod.spec.volumes.map((v) => [v.name, v]));
  const claims = new Map(pod.spec.volumes.filter((v) => v.persistentVolumeClaim).map((v) => [v.name, v.persistentVolumeClaim.claimName]));
  const mounts = (container.volumeMounts || []).map((m) => {
    const volume = volumes.get(m.name);
    const source = volume.persistentVolumeClaim
      ? { kind: 'claim', claim: claims.get(m.name) }
      : volumeSource(pod, volume, podDir, nodeDir, containerName);
    return { mountPath: m.mountPath, ...source };
  });
  const env = {};
  const fieldValue = {
    'status.hostIP': pod.status.hostIP,
    'status.podIP': pod.status.podIP,
    'spec.nodeName': pod.spec.nodeName,
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
  };
  for (const e of container.env || []) {
    // An empty value is not stored: the API server omits it.
    if (e.value !== undefined || e.valueFrom === undefined) env[e.name] = e.value ?? '';
    else if (e.valueFrom && e.valueFrom.fieldRef) env[e.name] = fieldValue[e.valueFrom.fieldRef.fieldPath];
    else if (e.valueFrom && e.valueFrom.resourceFieldRef) env[e.name] = resourceFieldValue(e.valueFrom.resourceFieldRef, container, node);
    if (env[e.name] === undefined) fail(`pod ${pod.metadata.name}: env ${e.name} has a source the suite does not stand in for`);
  }
  const readiness = container.readinessProbe && container.readinessProbe.httpGet;
  console.log(JSON.stringify({
    pod: pod.metadata.name,
    namespace: pod.metadata.namespace,
    uid: pod.metadata.uid,
    serviceAccount: pod.spec.serviceAccountName,
    podIP: pod.status.podIP,
    hostNetwork: pod.spec.hostNetwork === true,
    mounts,
    env,
    args: container.args || [],
    readiness: readiness ? `http://${pod.status.podIP}:${readiness.port}${readiness.path}` : '',
  }));
}

// The mount path → scratch directory substitutions of a plan, longest mount path first.
function substitutions(planned) {
  return planned.mounts
    .filter((m) => m.mountPath !== SERVICE_ACCOUNT_DIR && m.dir)
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
}

// One pass, so a scratch path that starts with another mount path (/tmp) is not rewritten again.
function remapString(value, planned) {
  const subs = substitutions(planned);
  if (subs.length > 0) {
    const byPath = new Map(subs.map((m) => [m.mountPath, m.dir]));
    const alternatives = subs.map((m) => m.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    value = value.replace(new RegExp(`(^|["=])(${alternatives})(?=/|"|$)`, 'gm'), (_, lead, mountPath) => `${lead}${byPath.get(mountPath)}`);
  }
  return value.replace(/0\.0\.0\.0/g, planned.podIP);
}

// remap PLAN_JSON FILE...: rewrites the files (configs the suite wrote from ConfigMaps) in place.
function remap(planFile, ...files) {
  const planned = readJson(planFile);
  for (const file of files) fs.writeFileSync(file, remapString(fs.readFileSync(file, 'utf8'), planned));
}

// bind-claim PLAN_JSON CLAIM DIR: the claim's mounts use DIR, its PersistentVolume's path.
function bindClaim(planFile, claim, dir) {
  const planned = readJson(planFile);
  for (const m of planned.mounts) if (m.kind === 'claim' && m.claim === claim) m.dir = dir;
  fs.writeFileSync(planFile, JSON.stringify(planned));
}

// field PLAN_JSON KEY: one field, arrays one element per line.
function field(planFile, key) {
  const value = readJson(planFile)[key];
  if (Array.isArray(value)) value.forEach((v) => console.log(typeof v === 'string' ? v : JSON.stringify(v)));
  else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => console.log(`${k}=${v}`));
  else console.log(value === undefined ? '' : value);
}

function remappedArgs(planFile) {
  const planned = readJson(planFile);
  planned.args.forEach((a) => console.log(remapString(a, planned)));
}

function mountsTable(planFile) {
  for (const m of readJson(planFile).mounts) {
    console.log([m.kind, m.mountPath, m.dir || '', m.name || m.claim || m.driver || '', m.audience || '', m.seconds || '', m.file || '', m.optional ? 'optional' : ''].join('|'));
  }
}

// root-links PLAN_JSON: "MOUNT_PATH|DIR" for the mounts a working directory laid out like the
// container's root links to; a mount inside another is reached through the outer one's link
// only, so no link is written into a volume.
function rootLinks(planFile) {
  const linked = [];
  const mounts = readJson(planFile).mounts.filter((m) => m.dir).sort((a, b) => a.mountPath.length - b.mountPath.length);
  for (const m of mounts) {
    if (linked.some((outer) => m.mountPath.startsWith(`${outer}/`))) continue;
    linked.push(m.mountPath);
    console.log(`${m.mountPath}|${m.dir}`);
  }
}

// write-volume OBJECT_JSON DIR: the keys of a ConfigMap or Secret as files, as its volume shows them.
function writeVolume(objectFile, dir) {
  const object = readJson(objectFile);
  const files = { ...object.data };
  if (object.kind === 'Secret') for (const key of Object.keys(files)) files[key] = Buffer.from(files[key], 'base64');
  fs.mkdirSync(dir, { recursive: true });
  for (const [key, value] of Object.entries(files)) fs.writeFileSync(path.join(dir, key), value);
  console.log(Object.keys(files).join(' '));
}

// pod-status IP NODE_IP READY: the status subresource body a kubelet would write for a running pod.
function podStatus(ip, hostIP, ready) {
  const condition = (type, status) => ({ type, status, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
  const readiness = ready === 'true' ? 'True' : 'False';
  console.log(JSON.stringify({
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      conditions: [condition('PodScheduled', 'True'), condition('Initialized', 'True'), condition('ContainersReady', readiness), condition('Ready', readiness)],
    },
  }));
}

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
    spireTemplates: Object.keys(injector.templates || {}),
    bundleConfigMap: published.configmap_name ? `${published.namespace}/${published.configmap_name}/${published.configmap_key}` : '',
  }));
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
  fs.writeFileSync(out, objects.map((obj) => YAML.stringify(obj, { lineWidth: 0 })).join('---\n'));
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
  // The SPIRE injection templates name a CSI driver that does not exist, so istio-proxy would
  // mount nothing where it looks for the Workload API socket.
  'template-csi-driver': (all) => {
    const [operator] = ofKind(all, 'IstioOperator', 'install.istio.io');
    const templates = operator.obj.spec.values.sidecarInjectorWebhook.templates;
    for (const name of Object.keys(templates)) templates[name] = templates[name].replaceAll('driver: csi.spiffe.io', 'driver: csi.spiffe.example');
    return `${describe(operator)} injection templates ${Object.keys(templates).join(', ')} now mount CSI driver csi.spiffe.example`;
  },
};

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
// carries the SPIRE wiring the conformance suite checks on kube-inject's output.
function injectedPods(podsFile, socketPath, profileMode) {
  const pods = readJson(podsFile).items.filter((pod) => 'inject.istio.io/templates' in (pod.metadata.annotations || {}));
  if (pods.length === 0) fail('no pod asks for injection templates (inject.istio.io/templates)');
  const problems = [];
  for (const pod of pods) {
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const templates = pod.metadata.annotations['inject.istio.io/templates'];
    const { passed, failures } = assertInjection({ template: pod, socketPath, profileMode, expectedMode: profileMode });
    if (failures.length > 0) problems.push(`${name} (${templates}): ${failures.join('; ')}`);
    else console.log(`ok: ${name} (${templates}): ${passed.length} checks`);
  }
  if (problems.length > 0) fail(problems.join('\n  '));
}

// metrics-port POD_JSON CONTAINER: the number of the container's port named for metrics
// ("metrics", "cm-metrics"); fails when it has none.
function metricsPort(podFile, containerName) {
  const pod = readJson(podFile);
  const port = (containerOf(pod, containerName).ports || []).find((p) => /(^|-)metrics$/.test(p.name || ''));
  if (!port) fail(`pod ${pod.metadata.name}: container ${containerName} has no port named for metrics`);
  console.log(port.containerPort);
}

const commands = {
  plan,
  remap,
  'bind-claim': bindClaim,
  field,
  'remapped-args': remappedArgs,
  mounts: mountsTable,
  'root-links': rootLinks,
  'write-volume': writeVolume,
  'pod-status': podStatus,
  'crd-names': crdNames,
  facts,
  'entries-for-pods': entriesForPods,
  'count-entries': countEntries,
  'entry-ids': entryIds,
  agents,
  mutate,
  'injected-pods': injectedPods,
  'metrics-port': metricsPort,
  'spire-enabled-pods': spireEnabledPods,
  unreconciled,
  count: (file) => console.log(readJson(file).items.length),
  mutations: () => console.log(Object.keys(MUTATIONS).join(' ')),
};

runCommand(commands);
