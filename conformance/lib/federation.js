'use strict';
// The federation scenario's helpers: a synthesized server.conf remapped to run outside Kubernetes,
// and the federation relationship of a synthesized ClusterFederatedTrustDomain in the JSON form
// `spire-server federation create -data` reads.
// Usage: node federation.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const path = require('path');
const {
  loadDir, ofKind, describe, fail, runCommand, readJson, writeJson, exactlyOne, configMapWith,
} = require('./manifests');

function serverConfigEntry(dir) {
  return configMapWith(loadDir(dir), 'server.conf');
}

// Plugins that need a Kubernetes API server; outside a cluster the scenario attests no agent and
// publishes no bundle, so they are replaced or left out (and said so).
const KUBERNETES_PLUGINS = { NodeAttestor: 'k8s_psat', BundlePublisher: 'k8s_configmap' };

function setPluginData(section, name, edit) {
  for (const entry of [].concat(section || [])) {
    if (entry && entry[name]) edit(entry[name].plugin_data);
  }
}

// remap-server DIR SCRATCH GRPC_PORT BUNDLE_PORT OUT: the server.conf of DIR with every path in
// SCRATCH and every listener on loopback; federation.bundle_endpoint's profile stays as synthesized.
function remapServer(dir, scratch, grpcPort, bundlePort, out) {
  const entry = serverConfigEntry(dir);
  const conf = JSON.parse(entry.obj.data['server.conf']);
  const server = conf.server;
  const endpoint = server.federation && server.federation.bundle_endpoint;
  if (!endpoint) fail(`${describe(entry)} server.conf has no server.federation.bundle_endpoint`);
  const said = [];
  const remap = (what, from, to) => said.push(`remapped ${what}: ${from} -> ${to}`);
  remap('server.bind_address:bind_port', `${server.bind_address}:${server.bind_port}`, `127.0.0.1:${grpcPort}`);
  server.bind_address = '127.0.0.1';
  server.bind_port = String(grpcPort);
  remap('server.socket_path', server.socket_path, `${scratch}/api.sock`);
  server.socket_path = `${scratch}/api.sock`;
  remap('server.data_dir', server.data_dir, `${scratch}/data`);
  server.data_dir = `${scratch}/data`;
  remap('federation.bundle_endpoint', `${endpoint.address}:${endpoint.port}`, `127.0.0.1:${bundlePort}`);
  endpoint.address = '127.0.0.1';
  endpoint.port = Number(bundlePort);
  setPluginData(conf.plugins.DataStore, 'sql', (data) => {
    remap('DataStore sql connection_string', data.connection_string, `${scratch}/data/datastore.sqlite3`);
    data.connection_string = `${scratch}/data/datastore.sqlite3`;
  });
  setPluginData(conf.plugins.KeyManager, 'disk', (data) => {
    remap('KeyManager disk keys_path', data.keys_path, `${scratch}/data/keys.json`);
    data.keys_path = `${scratch}/data/keys.json`;
  });
  for (const [type, name] of Object.entries(KUBERNETES_PLUGINS)) {
    if (![].concat(conf.plugins[type] || []).some((p) => p && p[name])) continue;
    said.push(`${type} ${name}: left out (needs a Kubernetes API server)`);
    delete conf.plugins[type];
  }
  conf.plugins.NodeAttestor = [{ join_token: { plugin_data: {} } }];
  said.push('NodeAttestor join_token: added (a server needs a node attestor; no agent attests here)');
  // Health checks and metrics listen on fixed ports; two servers on one host would collide.
  for (const key of ['health_checks', 'telemetry']) {
    if (conf[key]) said.push(`${key}: left out (a fixed port both servers would share)`);
    delete conf[key];
  }
  fs.mkdirSync(path.join(scratch, 'data'), { recursive: true });
  writeJson(out, conf);
  console.log(`${describe(entry)} server.conf, trust domain ${server.trust_domain}, bundle endpoint profile ${Object.keys(endpoint.profile).join(',')}`);
  for (const line of said) console.log(`  ${line}`);
}

// relationship DIR PARTNER_TRUST_DOMAIN ENDPOINT_HOST_PORT BUNDLE_FILE OUT: the ClusterFederatedTrustDomain
// of DIR for the partner, as `federation create -data` JSON: every value as synthesized except the
// URL's host and port (the partner's loopback endpoint), plus the partner's bundle to bootstrap with.
function relationship(dir, partnerTrustDomain, hostPort, bundleFile, out) {
  const entry = exactlyOne(
    ofKind(loadDir(dir), 'ClusterFederatedTrustDomain', 'spire.spiffe.io').filter(({ obj }) => obj.spec.trustDomain === partnerTrustDomain),
    `ClusterFederatedTrustDomain for ${partnerTrustDomain}`,
  );
  const spec = entry.obj.spec;
  const url = new URL(spec.bundleEndpointURL);
  const remapped = `${url.protocol}//${hostPort}${url.pathname === '/' ? '' : url.pathname}`;
  const config = {
    trustDomain: spec.trustDomain,
    bundleEndpointURL: remapped,
    bundleEndpointProfile: spec.bundleEndpointProfile.type,
    endpointSPIFFEID: spec.bundleEndpointProfile.endpointSPIFFEID,
    trustDomainBundle: readJson(bundleFile),
    trustDomainBundleFormat: 'spiffe',
  };
  writeJson(out, { federationRelationships: [config] });
  console.log(`${describe(entry)}: trustDomain ${config.trustDomain}, bundleEndpointURL ${spec.bundleEndpointURL} -> ${remapped}, `
    + `profile ${config.bundleEndpointProfile}, endpointSPIFFEID ${config.endpointSPIFFEID}`);
}

// wrong-endpoint-id IN OUT: a copy of a relationship whose endpoint SPIFFE ID is another ID of the
// same trust domain, which the partner's endpoint does not present.
function wrongEndpointId(input, out) {
  const data = readJson(input);
  const config = data.federationRelationships[0];
  config.endpointSPIFFEID = `spiffe://${config.trustDomain}/not/the/server`;
  writeJson(out, data);
  console.log(`copy with endpointSPIFFEID ${config.endpointSPIFFEID}`);
}

// x509-authorities FILE TRUST_DOMAIN: how many X.509 authorities the SPIFFE bundle of a trust domain
// in `spire-server bundle list -format spiffe` output holds (0 when the trust domain is missing).
function x509Authorities(file, trustDomain) {
  const text = fs.readFileSync(file, 'utf8');
  const marker = `****************************************\n* ${trustDomain}\n****************************************\n`;
  const start = text.indexOf(marker);
  if (start < 0) {
    console.log(0);
    return;
  }
  const rest = text.slice(start + marker.length);
  const end = rest.indexOf('\n****************************************');
  const bundle = JSON.parse(end < 0 ? rest : rest.slice(0, end));
  console.log(bundle.keys.filter((key) => key.use === 'x509-svid').length);
}

// trust-domain DIR: the trust domain of DIR's server.conf.
function trustDomain(dir) {
  console.log(JSON.parse(serverConfigEntry(dir).obj.data['server.conf']).server.trust_domain);
}

runCommand({
  'remap-server': remapServer,
  relationship,
  'wrong-endpoint-id': wrongEndpointId,
  'x509-authorities': x509Authorities,
  'trust-domain': trustDomain,
});
