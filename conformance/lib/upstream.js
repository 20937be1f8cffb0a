'use strict';
// The server configs of conformance/apps/upstream.ts, their deliberately broken copies, and the
// disk variant's config remapped to run on loopback in a scratch directory.
// Usage: node upstream.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const path = require('path');
const {
  loadDir, loadFile, ofKind, describe, writeYaml, fail, runCommand, hclBlock, readJson, writeJson,
} = require('./manifests');

const NAMESPACE_PREFIX = 'spire-';

// The one UpstreamAuthority plugin of a server config: its name and its plugin_data.
function upstreamPlugin(conf, where) {
  const section = ((conf.plugins || {}).UpstreamAuthority) || fail(`${where} has no UpstreamAuthority plugin`);
  const entries = [].concat(section);
  if (entries.length !== 1 || Object.keys(entries[0]).length !== 1) fail(`${where} has ${entries.length} UpstreamAuthority plugins, expected one`);
  const [name] = Object.keys(entries[0]);
  return { name, data: entries[0][name].plugin_data };
}

// Writes <variant>.server.conf for every server ConfigMap; the variant is the namespace without "spire-".
function configs(dir, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const servers = ofKind(loadDir(dir), 'ConfigMap', 'v1').filter(({ obj }) => obj.data && 'server.conf' in obj.data);
  if (servers.length === 0) fail(`no ConfigMap with server.conf in ${dir}`);
  for (const entry of servers) {
    const namespace = entry.obj.metadata.namespace;
    if (!namespace.startsWith(NAMESPACE_PREFIX)) fail(`${describe(entry)}: namespace does not start with ${NAMESPACE_PREFIX}`);
    const variant = namespace.slice(NAMESPACE_PREFIX.length);
    const conf = JSON.parse(entry.obj.data['server.conf']);
    const { name } = upstreamPlugin(conf, describe(entry));
    writeJson(path.join(outDir, `${variant}.server.conf`), conf);
    console.log(`${variant}\t${name}`);
  }
}

// Per plugin, a mistake SPIRE's own validation must catch: a required key left out, or a value
// of the wrong shape where the plugin checks nothing but the decoding.
const BREAKAGES = {
  'disk': ['key_file_path left out', (data) => { delete data.key_file_path; }],
  'cert-manager': ['issuer_name left out', (data) => { delete data.issuer_name; }],
  'vault': ['pki_mount_point given as a block', (data) => { data.pki_mount_point = { name: data.pki_mount_point || 'pki' }; }],
  'aws_pca': ['region left out', (data) => { delete data.region; }],
  'awssecret': ['key_file_arn left out', (data) => { delete data.key_file_arn; }],
  'ejbca': ['ca_name left out', (data) => { delete data.ca_name; }],
  'spire': ['server_address left out', (data) => { delete data.server_address; }],
};

function broken(file, out) {
  const conf = readJson(file);
  const { name, data } = upstreamPlugin(conf, file);
  const breakage = BREAKAGES[name] || fail(`no deliberate breakage for the ${name} plugin`);
  breakage[1](data);
  writeJson(out, conf);
  console.log(breakage[0]);
}

// Replaces every string starting with a key of `prefixes` by the mapped path.
function remapPaths(node, prefixes) {
  if (Array.isArray(node)) return node.map((v) => remapPaths(v, prefixes));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, remapPaths(v, prefixes)]));
  }
  if (typeof node !== 'string') return node;
  const prefix = Object.keys(prefixes).find((p) => node === p || node.startsWith(`${p}/`));
  return prefix === undefined ? node : prefixes[prefix] + node.slice(prefix.length);
}

// The disk variant's config for a server on loopback: its data directory, API socket and the
// upstream CA's Secret directory under SCRATCH (CA files as ca/<key>), ports from the arguments.
// The BundlePublisher writes to a Kubernetes API, which is absent here, so it is left out.
function runnable(file, out, scratch, grpcPort, healthPort, metricsPort) {
  const conf = readJson(file);
  const { name, data } = upstreamPlugin(conf, file);
  if (name !== 'disk') fail(`${file} uses the ${name} UpstreamAuthority, expected disk`);
  const server = hclBlock(conf.server);
  const caDir = path.dirname(data.cert_file_path);
  const prefixes = {
    [server.data_dir]: path.join(scratch, 'data'),
    [path.dirname(server.socket_path)]: path.join(scratch, 'socket'),
    [caDir]: path.join(scratch, 'ca'),
  };
  const remapped = remapPaths(conf, prefixes);
  Object.assign(hclBlock(remapped.server), { bind_address: '127.0.0.1', bind_port: grpcPort });
  Object.assign(hclBlock(remapped.health_checks), { bind_address: '127.0.0.1', bind_port: healthPort });
  if (remapped.telemetry) Object.assign(hclBlock(remapped.telemetry).Prometheus, { host: '127.0.0.1', port: Number(metricsPort) });
  delete remapped.plugins.BundlePublisher;
  writeJson(out, remapped);
  for (const [from, to] of Object.entries(prefixes)) console.log(`remapped ${from} -> ${to}`);
  console.log(`ports: grpc ${grpcPort}, health ${healthPort}, metrics ${metricsPort}; BundlePublisher left out (it needs a Kubernetes API)`);
  const caFiles = ['cert_file_path', 'key_file_path', 'bundle_file_path'].filter((key) => data[key]).map((key) => `${key}=${path.basename(data[key])}`);
  console.log(`CA files: ${caFiles.join(' ')}`);
}

// The PEM certificates of a file, one per output file <prefix><n>.pem, leaf first; prints the count.
function splitPem(file, prefix) {
  const blocks = fs.readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || [];
  blocks.forEach((pem, i) => fs.writeFileSync(`${prefix}${i}.pem`, `${pem}\n`));
  console.log(blocks.length);
}

// A copy of a manifest file, one document per file for kubectl-validate, whose upstream volumes
// make a plausible mistake: a Secret volume named by `name` (a ConfigMap volume's field) instead of
// `secretName`, a CSI volume's driver given as `driverName`.
function brokenVolumes(file, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  let broken = 0;
  loadFile(file).forEach(({ obj }, index) => {
    for (const volume of (((obj.spec || {}).template || {}).spec || {}).volumes || []) {
      if (!volume.name.startsWith('upstream')) continue;
      if (volume.csi) volume.csi = renameKey(volume.csi, 'driver', 'driverName');
      if (volume.secret) volume.secret = renameKey(volume.secret, 'secretName', 'name');
      broken += 1;
    }
    writeYaml(path.join(outDir, `${index}.yaml`), obj);
  });
  if (broken === 0) fail(`${file} has no upstream volume to break`);
  console.log(`${broken} upstream volume(s) with secret.name for secret.secretName, csi.driverName for csi.driver`);
}

function renameKey(object, from, to) {
  const { [from]: value, ...rest } = object;
  return { ...rest, [to]: value };
}

runCommand({ configs, broken, runnable, 'split-pem': splitPem, 'broken-volumes': brokenVolumes });
