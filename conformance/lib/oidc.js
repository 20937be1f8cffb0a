'use strict';
// The pieces of conformance/scenarios/oidc.sh that read or judge JSON.
//
//   node oidc.js prepare DIST OUT
//       server.conf, agent.conf and the providers' oidc-discovery-provider.conf (Workload API and
//       bundle file) from the output, remapped to run on loopback under OUT, plus the deliberately
//       broken copies; prints what it changed and, last, one JSON line of facts the scenario needs
//   node oidc.js discovery DOC ISSUER      the discovery document names the issuer and its keys
//   node oidc.js jwt-svid SVID_JSON KEYS ISSUER TTL USE
//       the JWT-SVID the agent issued carries the issuer and lifetime, and is signed by a served key
//       whose "use" is USE ("none": no use)
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const {
  loadDir, ofKind, fail, describe, configMapWith, hclBlock, readJson, writeJson,
} = require('./manifests');

function configFrom(all, key) {
  const found = configMapWith(all, key);
  console.log(`read ${key} from ${describe(found)}`);
  return JSON.parse(found.obj.data[key]);
}

// The provider config of each key source: the one with a workload_api block and the one with a file block.
function providerConfigs(all) {
  const key = 'oidc-discovery-provider.conf';
  const configs = ofKind(all, 'ConfigMap', 'v1').filter(({ obj }) => obj.data && key in obj.data);
  const bySource = (source) => {
    const found = configs.filter(({ obj }) => source in JSON.parse(obj.data[key]));
    if (found.length !== 1) fail(`expected one ${key} with a ${source} block, found ${found.length}`);
    console.log(`read ${key} with ${source} from ${describe(found[0])}`);
    return JSON.parse(found[0].obj.data[key]);
  };
  return { oidc: bySource('workload_api'), fromBundle: bySource('file') };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}


// Plugins that need a Kubernetes cluster stand in with ones that work on one machine.
function localPlugins(conf, role, replacements, notes) {
  for (const [type, replacement] of Object.entries(replacements)) {
    const before = Object.keys(hclBlock(conf.plugins[type]) || {}).join(',') || '<none>';
    if (replacement === undefined) delete conf.plugins[type];
    else conf.plugins[type] = [replacement];
    notes.push(`${role}: ${type} ${before} -> ${replacement ? Object.keys(replacement)[0] : 'removed'} (needs a cluster)`);
  }
}

function remapHealth(conf, port, role, notes) {
  const before = conf.health_checks.bind_port;
  conf.health_checks = { ...conf.health_checks, bind_address: '127.0.0.1', bind_port: String(port) };
  notes.push(`${role}: health_checks ${before} -> 127.0.0.1:${port}`);
  if (conf.telemetry) {
    delete conf.telemetry;
    notes.push(`${role}: telemetry removed (its port is not what this scenario checks)`);
  }
}

async function prepare(dist, out) {
  const all = loadDir(dist);
  const server = configFrom(all, 'server.conf');
  const agent = configFrom(all, 'agent.conf');
  const { oidc, fromBundle } = providerConfigs(all);
  const [serverPort, serverHealth, agentHealth, oidcPort, oidcHealth, bundlePort, bundleHealth] = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(freePort));
  const notes = [];
  const dirs = Object.fromEntries(['server', 'agent'].map((role) => [role, path.join(out, role)]));
  Object.values(dirs).forEach((dir) => fs.mkdirSync(dir, { recursive: true }));

  const s = server.server;
  Object.assign(s, { bind_address: '127.0.0.1', bind_port: String(serverPort), socket_path: path.join(dirs.server, 'api.sock'), data_dir: dirs.server });
  notes.push(`server: listens on 127.0.0.1:${serverPort}, API socket and data under ${dirs.server}`);
  hclBlock(server.plugins.DataStore).sql.plugin_data.connection_string = path.join(dirs.server, 'datastore.sqlite3');
  hclBlock(server.plugins.KeyManager).disk.plugin_data.keys_path = path.join(dirs.server, 'keys.json');
  localPlugins(server, 'server', { NodeAttestor: { join_token: { plugin_data: {} } }, BundlePublisher: undefined }, notes);
  remapHealth(server, serverHealth, 'server', notes);

  const a = agent.agent;
  const agentSocket = path.join(dirs.agent, path.basename(a.socket_path));
  Object.assign(a, { server_address: '127.0.0.1', server_port: String(serverPort), socket_path: agentSocket, data_dir: dirs.agent, insecure_bootstrap: true });
  delete a.trust_bundle_path;
  delete a.trust_bundle_format;
  notes.push(`agent: dials 127.0.0.1:${serverPort}, Workload API at ${agentSocket}, bootstraps without the bundle ConfigMap`);
  localPlugins(agent, 'agent', { NodeAttestor: { join_token: { plugin_data: {} } }, WorkloadAttestor: { unix: { plugin_data: {} } } }, notes);
  remapHealth(agent, agentHealth, 'agent', notes);

  const emittedSocket = oidc.workload_api.socket_path;
  if (path.basename(emittedSocket) !== path.basename(a.socket_path)) {
    fail(`the provider opens ${emittedSocket}, but the agent serves the socket file ${path.basename(a.socket_path)}`);
  }
  if (oidc.workload_api.trust_domain !== s.trust_domain) {
    fail(`the provider asks for trust domain ${oidc.workload_api.trust_domain}, the server signs for ${s.trust_domain}`);
  }
  console.log(`ok: the provider opens the agent's socket file (${path.basename(emittedSocket)}) for trust domain ${s.trust_domain}`);
  oidc.workload_api.socket_path = agentSocket;
  oidc.insecure_addr = `127.0.0.1:${oidcPort}`;
  oidc.health_checks.bind_port = oidcHealth;
  notes.push(`provider: ${emittedSocket} -> ${agentSocket}, serves 127.0.0.1:${oidcPort}, health :${oidcHealth}`);

  // The scenario writes what `spire-server bundle show -format spiffe` prints where the ConfigMap was mounted.
  const bundleFile = path.join(out, path.basename(fromBundle.file.path));
  notes.push(`bundle provider: ${fromBundle.file.path} -> ${bundleFile}, serves 127.0.0.1:${bundlePort}, health :${bundleHealth}`);
  Object.assign(fromBundle, { file: { ...fromBundle.file, path: bundleFile }, insecure_addr: `127.0.0.1:${bundlePort}` });
  fromBundle.health_checks.bind_port = bundleHealth;

  const providerId = providerSpiffeId(all, s.trust_domain);
  writeJson(path.join(out, 'server.conf'), server);
  writeJson(path.join(out, 'agent.conf'), agent);
  writeJson(path.join(out, 'oidc.conf'), oidc);
  writeJson(path.join(out, 'oidc-from-bundle.conf'), fromBundle);
  writeJson(path.join(out, 'broken-jwt-svid-ttl-server.conf'), { ...server, server: { ...s, default_jwt_svid_ttl: '10 minutes' } });
  writeJson(path.join(out, 'broken-jwt-issuer-oidc.conf'), { ...oidc, jwt_issuer: new URL(oidc.jwt_issuer).host });
  notes.forEach((note) => console.log(`remapped ${note}`));
  console.log(JSON.stringify({
    trustDomain: s.trust_domain,
    jwtIssuer: s.jwt_issuer,
    jwtSvidTtl: s.default_jwt_svid_ttl,
    providerIssuer: oidc.jwt_issuer,
    prefix: oidc.server_path_prefix || '',
    domain: oidc.domains[0],
    providerId,
    serverSocket: s.socket_path,
    agentSocket,
    serverHealth: `127.0.0.1:${serverHealth}`,
    agentHealth: `127.0.0.1:${agentHealth}`,
    oidcAddress: `127.0.0.1:${oidcPort}`,
    oidcHealth: `127.0.0.1:${oidcHealth}`,
    bundleFile,
    bundleAddress: `127.0.0.1:${bundlePort}`,
    keyUse: oidc.set_key_use === true ? 'sig' : 'none',
    bundleKeyUse: fromBundle.set_key_use === true ? 'sig' : 'none',
  }));
}

// The SPIFFE ID the Workload API provider's pods get: the one ClusterSPIFFEID selecting their
// labels and namespace, rendered for the Deployment's namespace and service account.
function providerSpiffeId(all, trustDomain) {
  const deployments = ofKind(all, 'Deployment', 'apps')
    .filter(({ obj }) => obj.spec.template.spec.containers.some((c) => /oidc-discovery-provider/.test(c.image))
      && (obj.spec.template.spec.volumes || []).some((volume) => volume.csi));
  if (deployments.length !== 1) fail(`expected one Deployment running oidc-discovery-provider on the Workload API, found ${deployments.length}`);
  const deployment = deployments[0].obj;
  const namespace = deployment.metadata.namespace;
  const podLabels = deployment.spec.template.metadata.labels;
  const serviceAccount = deployment.spec.template.spec.serviceAccountName;
  const subset = (selector, labels) => Object.entries((selector || {}).matchLabels || {}).every(([k, v]) => labels[k] === v);
  const identities = ofKind(all, 'ClusterSPIFFEID', 'spire.spiffe.io').filter(({ obj }) => subset(obj.spec.podSelector, podLabels)
    && subset(obj.spec.namespaceSelector, { 'kubernetes.io/metadata.name': namespace }));
  if (identities.length !== 1) fail(`expected one ClusterSPIFFEID selecting the provider's pods, found ${identities.length}`);
  const id = identities[0].obj.spec.spiffeIDTemplate
    .replace(/{{\s*\.TrustDomain\s*}}/g, trustDomain)
    .replace(/{{\s*\.PodMeta\.Namespace\s*}}/g, namespace)
    .replace(/{{\s*\.PodSpec\.ServiceAccountName\s*}}/g, serviceAccount);
  if (id.includes('{{')) fail(`ClusterSPIFFEID ${identities[0].obj.metadata.name} uses template fields this scenario does not render: ${id}`);
  console.log(`ok: ClusterSPIFFEID ${identities[0].obj.metadata.name} gives the provider's pods (${namespace}, service account ${serviceAccount}) ${id}`);
  return id;
}

function discovery(docFile, issuer) {
  const doc = readJson(docFile);
  const keysUrl = `${issuer.replace(/\/$/, '')}/keys`;
  if (doc.issuer !== issuer) fail(`discovery issuer is ${doc.issuer}, the server signs JWT-SVIDs with iss ${issuer}`);
  if (doc.jwks_uri !== keysUrl) fail(`discovery jwks_uri is ${doc.jwks_uri}, expected ${keysUrl}`);
  console.log(`ok: discovery document: issuer ${doc.issuer}, jwks_uri ${doc.jwks_uri}, algorithms ${doc.id_token_signing_alg_values_supported.join(',')}`);
}

function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

// `spire-agent api fetch jwt -output json` prints the SVIDs (and bundles) as JSON documents.
// Go durations as the configs here write them: whole numbers of h, m and s.
function seconds(duration) {
  const units = { h: 3600, m: 60, s: 1 };
  const parts = [...duration.matchAll(/(\d+)([hms])/g)];
  if (parts.map((p) => p[0]).join('') !== duration) fail(`cannot read the duration ${duration}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

function jwtSvid(svidFile, keysFile, issuer, ttl, use) {
  const ttlSeconds = seconds(ttl);
  const text = fs.readFileSync(svidFile, 'utf8');
  const token = (text.match(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/) || [])[0] || fail(`no JWT in ${svidFile}`);
  const [headerPart, claimsPart] = token.split('.');
  const header = decodeSegment(headerPart);
  const claims = decodeSegment(claimsPart);
  const keys = readJson(keysFile).keys || [];
  const kids = keys.map((k) => k.kid);
  console.log(`JWT-SVID: sub ${claims.sub}, iss ${claims.iss}, kid ${header.kid}, lifetime ${claims.exp - claims.iat}s; /keys: ${keys.length} key(s) ${kids.join(',')}`);
  if (claims.iss !== issuer) fail(`the JWT-SVID's iss is ${claims.iss}, expected ${issuer}`);
  if (claims.exp - claims.iat !== ttlSeconds) fail(`the JWT-SVID lives ${claims.exp - claims.iat}s, default_jwt_svid_ttl ${ttl} is ${ttlSeconds}s`);
  const key = keys.find((k) => k.kid === header.kid) || fail(`the JWT-SVID is signed with key ${header.kid}, which /keys does not serve`);
  if (!verifySignature(token, header.alg, key)) fail(`the JWT-SVID's ${header.alg} signature does not verify with key ${header.kid} from /keys`);
  if ((key.use || 'none') !== use) fail(`key ${header.kid} from /keys has use ${key.use || 'none'}, expected ${use}`);
  console.log(`ok: iss is the issuer, lifetime is default_jwt_svid_ttl, and the ${header.alg} signature verifies with key ${header.kid} from /keys, whose use is ${use}`);
}

const DIGESTS = { ES256: 'sha256', ES384: 'sha384', RS256: 'sha256' };

function verifySignature(token, alg, jwk) {
  const digest = DIGESTS[alg] || fail(`unexpected JWT algorithm ${alg}`);
  const [header, claims, signature] = token.split('.');
  const publicKey = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  // JWS carries ECDSA signatures as r||s, not DER.
  const options = alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey;
  return crypto.verify(digest, Buffer.from(`${header}.${claims}`), options, Buffer.from(signature, 'base64url'));
}

runCommandAsync({ prepare, discovery, 'jwt-svid': jwtSvid });

function runCommandAsync(commands) {
  const [command, ...args] = process.argv.slice(2);
  if (!commands[command]) fail(`unknown command ${command}; one of ${Object.keys(commands).join(', ')}`);
  Promise.resolve().then(() => commands[command](...args)).catch((e) => fail(e.message));
}
