'use strict';
// Pulls the pieces each upstream tool needs out of synthesized or generated manifests.
// Usage: node extract.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const path = require('path');
const {
  YAML, loadFile, loadDir, ofKind, describe, writeYaml, fail, runCommand, exactlyOne, hclBlock,
} = require('./manifests');


// The IstioOperator is istioctl input, not a cluster object: it must sit alone in its file so
// that file can be left out of kubectl-validate without hiding anything else.
function istioOperator(dir, out) {
  const all = loadDir(dir);
  const iop = exactlyOne(ofKind(all, 'IstioOperator', 'install.istio.io'), 'IstioOperator (install.istio.io)');
  const sameFile = all.filter((e) => e.file === iop.file && e !== iop);
  if (sameFile.length > 0) {
    fail(`${iop.file} holds the IstioOperator and also ${sameFile.map(describe).join(', ')}; it must be alone in its file`);
  }
  writeYaml(out, iop.obj);
  const trustDomain = ((iop.obj.spec || {}).meshConfig || {}).trustDomain;
  console.log(JSON.stringify({ file: iop.file, trustDomain }));
}

// Lexical file order is the apply order: a Namespace or CRD defined in the output must come
// before anything that needs it.
function applyOrder(dir) {
  const all = loadDir(dir);
  const position = new Map(all.map((e, i) => [e, i]));
  const namespaces = new Map(ofKind(all, 'Namespace', 'v1').map((e) => [e.obj.metadata.name, e]));
  const crdFor = new Map();
  for (const e of ofKind(all, 'CustomResourceDefinition', 'apiextensions.k8s.io')) {
    crdFor.set(`${e.obj.spec.group}/${e.obj.spec.names.kind}`, e);
  }
  const problems = [];
  for (const e of all) {
    const ns = namespaces.get((e.obj.metadata || {}).namespace);
    if (ns && position.get(ns) > position.get(e)) problems.push(`${describe(e)} (${e.file}) comes before its ${describe(ns)} (${ns.file})`);
    const crd = crdFor.get(`${String(e.obj.apiVersion).split('/')[0]}/${e.obj.kind}`);
    if (crd && position.get(crd) > position.get(e)) problems.push(`${describe(e)} (${e.file}) comes before its CRD ${crd.obj.metadata.name} (${crd.file})`);
  }
  if (problems.length > 0) fail(`apply order:\n  ${problems.join('\n  ')}`);
  console.log(`ok: apply order: ${all.length} objects; every Namespace and CRD defined in the output precedes its users`);
}

function configMapWithKey(all, key) {
  return exactlyOne(
    ofKind(all, 'ConfigMap', 'v1').filter(({ obj }) => obj.data && key in obj.data),
    `ConfigMap with data key ${key}`,
  );
}

function parseJsonConfig(entry, key) {
  try {
    return JSON.parse(entry.obj.data[key]);
  } catch (e) {
    return fail(`${describe(entry)} data.${key} is not JSON: ${e.message}`);
  }
}

// The block NAME of a config in HCL's JSON form.
function block(config, name) {
  return hclBlock(config[name]);
}

function spireConfigs(dir, outDir) {
  const all = loadDir(dir);
  fs.mkdirSync(outDir, { recursive: true });
  const server = configMapWithKey(all, 'server.conf');
  const agent = configMapWithKey(all, 'agent.conf');
  const serverConf = parseJsonConfig(server, 'server.conf');
  const agentConf = parseJsonConfig(agent, 'agent.conf');
  fs.writeFileSync(path.join(outDir, 'server.conf'), JSON.stringify(serverConf, null, 2));
  fs.writeFileSync(path.join(outDir, 'agent.conf'), JSON.stringify(agentConf, null, 2));
  const agentBlock = block(agentConf, 'agent') || fail(`${describe(agent)} agent.conf has no agent block`);
  const socketPath = agentBlock.socket_path || fail(`${describe(agent)} agent.conf sets no agent.socket_path`);
  const serverBlock = block(serverConf, 'server') || fail(`${describe(server)} server.conf has no server block`);
  const psat = (conf) => {
    const attestors = [].concat(((conf.plugins || {}).NodeAttestor) || []);
    const found = attestors.find((a) => a && a.k8s_psat);
    return found ? found.k8s_psat.plugin_data || {} : undefined;
  };
  const serverPsat = psat(serverConf);
  const agentPsat = psat(agentConf);
  console.log(JSON.stringify({
    server: describe(server),
    agent: describe(agent),
    socketPath,
    serverTrustDomain: serverBlock.trust_domain,
    agentTrustDomain: agentBlock.trust_domain,
    serverPsatClusters: serverPsat ? Object.keys(block(serverPsat, 'clusters') || {}) : undefined,
    agentPsatCluster: agentPsat ? agentPsat.cluster : undefined,
  }));
}

// Copies of the SPIRE configs for `validate`: paths of files that `validate` reads but that only
// exist inside the pods point at placeholders, and two deliberately broken variants of each.
function spireValidationCopies(inDir, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const rewritten = [];
  for (const name of ['server.conf', 'agent.conf']) {
    const role = name.replace('.conf', '');
    const conf = JSON.parse(fs.readFileSync(path.join(inDir, name), 'utf8'));
    rewriteReadPaths(conf, name, rewritten, outDir);
    fs.writeFileSync(path.join(outDir, name), JSON.stringify(conf, null, 2));
    const broken = (mutate) => {
      const copy = JSON.parse(JSON.stringify(conf));
      mutate(block(copy, role));
      return JSON.stringify(copy, null, 2);
    };
    fs.writeFileSync(path.join(outDir, `broken-trust-domain-${name}`), broken((b) => { b.trust_domain = 'Not A Valid/Trust Domain'; }));
    fs.writeFileSync(path.join(outDir, `broken-unknown-key-${name}`), broken((b) => { b.conformance_unknown_key = true; }));
    // A federating server's bundle endpoint, with a profile SPIRE does not know.
    if (role === 'server' && (block(conf, 'server').federation || {}).bundle_endpoint) {
      fs.writeFileSync(path.join(outDir, 'broken-bundle-endpoint-server.conf'), broken((b) => { b.federation.bundle_endpoint.profile = { https_unknown: {} }; }));
    }
  }
  console.log(rewritten.length ? rewritten.join('\n') : 'no file paths needed rewriting for validate');
}

// Keys whose files spire-server/spire-agent read while loading the configuration.
const READ_AT_LOAD = { join_token_file: 'placeholder-join-token' };

function rewriteReadPaths(node, where, rewritten, outDir) {
  if (Array.isArray(node)) {
    node.forEach((v, i) => rewriteReadPaths(v, `${where}[${i}]`, rewritten, outDir));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    const at = `${where}.${key}`;
    if (typeof value === 'string' && key in READ_AT_LOAD) {
      node[key] = path.join(outDir, `${key}.placeholder`);
      fs.writeFileSync(node[key], READ_AT_LOAD[key]);
      rewritten.push(`rewrote ${at}: ${value} -> ${node[key]} (placeholder file; validate reads it)`);
    } else {
      rewriteReadPaths(value, at, rewritten, outDir);
    }
  }
}

// Injector template, values and mesh config from `istioctl manifest generate` output, plus the
// native sidecar setting istiod runs with.
function injectorConfig(generated, outDir) {
  const all = loadFile(generated);
  fs.mkdirSync(outDir, { recursive: true });
  const injector = exactlyOne(
    ofKind(all, 'ConfigMap').filter(({ obj }) => obj.metadata.name === 'istio-sidecar-injector'),
    'istio-sidecar-injector ConfigMap in the generated manifest',
  );
  const mesh = exactlyOne(ofKind(all, 'ConfigMap').filter(({ obj }) => obj.metadata.name === 'istio'), 'istio ConfigMap in the generated manifest');
  for (const [cm, key, file] of [[injector, 'config', 'inject-config.yaml'], [injector, 'values', 'values.json'], [mesh, 'mesh', 'mesh.yaml']]) {
    if (!cm.obj.data || typeof cm.obj.data[key] !== 'string') fail(`${describe(cm)} has no data.${key}`);
    fs.writeFileSync(path.join(outDir, file), cm.obj.data[key]);
  }
  const istiod = exactlyOne(ofKind(all, 'Deployment').filter(({ obj }) => obj.metadata.name === 'istiod'), 'istiod Deployment in the generated manifest');
  const discovery = istiod.obj.spec.template.spec.containers.find((c) => c.name === 'discovery');
  const env = ((discovery && discovery.env) || []).find((e) => e.name === 'ENABLE_NATIVE_SIDECARS');
  const templates = Object.keys(YAML.parse(injector.obj.data.config).templates || {}).sort();
  console.log(JSON.stringify({ enableNativeSidecars: env ? String(env.value) : '', templates }));
}

// Deployments that opt into named injection templates, each written to its own file.
function injectableWorkloads(dir, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const found = ofKind(loadDir(dir), 'Deployment', 'apps').filter(({ obj }) => {
    const annotations = (obj.spec.template.metadata || {}).annotations || {};
    return typeof annotations['inject.istio.io/templates'] === 'string';
  });
  for (const entry of found) {
    const { metadata } = entry.obj;
    const file = path.join(outDir, `${metadata.namespace || 'default'}.${metadata.name}.yaml`);
    writeYaml(file, entry.obj);
    console.log([file, entry.obj.spec.template.metadata.annotations['inject.istio.io/templates'], describe(entry)].join('\t'));
  }
}

function annotatePod(file, out, key, value) {
  const deployment = exactlyOne(ofKind(loadFile(file), 'Deployment', 'apps'), `Deployment in ${file}`).obj;
  const meta = deployment.spec.template.metadata || (deployment.spec.template.metadata = {});
  meta.annotations = { ...(meta.annotations || {}), [key]: value };
  writeYaml(out, deployment);
}

// The CRDs of an output directory or of one manifest file.
function crds(source, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const all = fs.statSync(source).isDirectory() ? loadDir(source) : loadFile(source);
  const found = ofKind(all, 'CustomResourceDefinition', 'apiextensions.k8s.io');
  for (const entry of found) writeYaml(path.join(outDir, `${entry.obj.metadata.name}.yaml`), entry.obj);
  console.log(found.map((e) => e.obj.metadata.name).join(' '));
}

const commands = {
  'istio-operator': istioOperator,
  'apply-order': applyOrder,
  'spire-configs': spireConfigs,
  'spire-validation-copies': spireValidationCopies,
  'injector-config': injectorConfig,
  'injectable-workloads': injectableWorkloads,
  'annotate-pod': annotatePod,
  crds,
};

runCommand(commands);
