'use strict';
// Turns the synthesized SPIRE server config into copies that run side by side on one machine, for
// the `ha` scenario, and reads what the running servers report.
// Usage: node ha.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const path = require('path');
const {
  loadDir, ofKind, describe, fail, runCommand, readJson, writeJson, exactlyOne, configMapWith, hclBlock,
} = require('./manifests');

// The pieces of one server pod: its config, the spire-server container's args and data mount.
function serverPod(dir) {
  const all = loadDir(dir);
  const config = configMapWith(all, 'server.conf');
  const statefulSet = exactlyOne(ofKind(all, 'StatefulSet', 'apps'), 'StatefulSet');
  const container = statefulSet.obj.spec.template.spec.containers.find((c) => c.name === 'spire-server')
    || fail(`${describe(statefulSet)} has no spire-server container`);
  return { conf: JSON.parse(config.obj.data['server.conf']), statefulSet, container };
}

// Every string under the pod's data directory or socket directory is moved into the scratch
// directory; ports move to the given free ones. The k8s_configmap bundle publisher gets a
// kubeconfig of an unreachable API server: it builds its client at start and only fails to publish.
function remap(conf, to) {
  const server = hclBlock(conf.server);
  const moves = [[server.data_dir, to.dataDir], [path.dirname(server.socket_path), to.socketDir]];
  const seen = [];
  const walk = (node) => {
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string') {
        const move = moves.find(([from]) => value === from || value.startsWith(`${from}/`));
        if (move) {
          node[key] = move[1] + value.slice(move[0].length);
          seen.push(`${key}: ${value} -> ${node[key]}`);
        }
      } else if (value !== null && typeof value === 'object') {
        walk(value);
      }
    }
  };
  walk(conf);
  server.bind_address = '127.0.0.1';
  server.bind_port = String(to.bindPort);
  const health = hclBlock(conf.health_checks);
  health.bind_address = '127.0.0.1';
  health.bind_port = String(to.healthPort);
  const telemetry = hclBlock(conf.telemetry);
  if (telemetry && telemetry.Prometheus) {
    telemetry.Prometheus.host = '127.0.0.1';
    telemetry.Prometheus.port = to.metricsPort;
  }
  for (const publisher of [].concat(conf.plugins.BundlePublisher || [])) {
    const data = publisher.k8s_configmap && publisher.k8s_configmap.plugin_data;
    for (const cluster of Object.values((data && hclBlock(data.clusters)) || {})) cluster.kubeconfig_path = to.kubeconfig;
  }
  seen.push(`bind ${server.bind_address}:${server.bind_port}, health ${health.bind_port}${telemetry ? `, metrics ${to.metricsPort}` : ''}`);
  return seen;
}

// server-copy DIST OUT_DIR BIND_PORT HEALTH_PORT METRICS_PORT KUBECONFIG: writes OUT_DIR/server.conf
// and OUT_DIR/args (the container's args, one a line, with the config path replaced).
function serverCopy(dist, outDir, bindPort, healthPort, metricsPort, kubeconfig) {
  const { conf, container } = serverPod(dist);
  const dataDir = path.join(outDir, 'data');
  const socketDir = path.join(outDir, 'socket');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(socketDir, { recursive: true });
  const seen = remap(conf, {
    dataDir, socketDir, bindPort: Number(bindPort), healthPort: Number(healthPort), metricsPort: Number(metricsPort), kubeconfig,
  });
  const configFile = path.join(outDir, 'server.conf');
  writeJson(configFile, conf);
  const args = [...container.args];
  const at = args.indexOf('-config');
  if (at < 0) fail('the spire-server container passes no -config');
  args[at + 1] = configFile;
  fs.writeFileSync(path.join(outDir, 'args'), `${args.join('\n')}\n`);
  fs.writeFileSync(path.join(outDir, 'socket_path'), hclBlock(conf.server).socket_path);
  console.log(seen.map((line) => `  ${line}`).join('\n'));
}

// The datastore block of the synthesized config: the variables its connection strings come from,
// each set from a Secret, and its pool limits.
function datastore(dist) {
  const { conf, container } = serverPod(dist);
  const sql = [].concat(conf.plugins.DataStore)[0].sql.plugin_data;
  const fromSecret = (key) => {
    const variable = /^\$\{(\w+)\}$/.exec(sql[key]);
    if (!variable) fail(`the sql datastore's ${key} is ${JSON.stringify(sql[key])}, not one environment variable`);
    const env = (container.env || []).find((e) => e.name === variable[1]);
    if (!env || !env.valueFrom || !env.valueFrom.secretKeyRef) fail(`the spire-server container does not set ${variable[1]} (${key}) from a Secret`);
    return { variable: variable[1], secret: env.valueFrom.secretKeyRef };
  };
  const main = fromSecret('connection_string');
  const readOnly = sql.ro_connection_string === undefined ? {} : fromSecret('ro_connection_string');
  console.log(JSON.stringify({
    databaseType: sql.database_type,
    variable: main.variable,
    secret: main.secret,
    roVariable: readOnly.variable,
    roSecret: readOnly.secret,
    pool: { max_open_conns: sql.max_open_conns, max_idle_conns: sql.max_idle_conns, conn_max_lifetime: sql.conn_max_lifetime },
  }));
}

// The replicas and the high-availability objects around the StatefulSet.
function haLayout(dist) {
  const all = loadDir(dist);
  const { statefulSet } = serverPod(dist);
  const spec = statefulSet.obj.spec;
  const governing = ofKind(all, 'Service', 'v1').find(({ obj }) => obj.metadata.name === spec.serviceName);
  const budgets = ofKind(all, 'PodDisruptionBudget', 'policy');
  const claims = (spec.volumeClaimTemplates || []).map((c) => c.metadata.name);
  console.log(JSON.stringify({
    replicas: spec.replicas,
    serviceName: spec.serviceName,
    headless: Boolean(governing && governing.obj.spec.clusterIP === 'None'),
    budgets: budgets.map(({ obj }) => JSON.stringify(obj.spec)),
    spread: (spec.template.spec.topologySpreadConstraints || []).map((c) => `${c.topologyKey}=${c.whenUnsatisfiable}`),
    claims,
  }));
}

// X.509 authorities of a `bundle show -format spiffe` document, as SHA-256 fingerprints of their public keys.
function bundleAuthorities(file) {
  const { X509Certificate } = require('crypto');
  const jwks = readJson(file);
  const keys = (jwks.keys || []).filter((k) => k.use === 'x509-svid');
  for (const key of keys) console.log(publicKeyFingerprint(new X509Certificate(Buffer.from(key.x5c[0], 'base64')).publicKey));
}

// The fingerprint of the public key in a disk key manager's keys.json, for the key of one CA slot.
function diskKeyFingerprints(file) {
  const { createPrivateKey, createPublicKey } = require('crypto');
  const stored = readJson(file);
  for (const [id, der] of Object.entries(stored.keys || {})) {
    const key = createPrivateKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'pkcs8' });
    console.log(`${id}\t${publicKeyFingerprint(createPublicKey(key))}`);
  }
}

function publicKeyFingerprint(publicKey) {
  const { createHash } = require('crypto');
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

const commands = {
  'server-copy': serverCopy,
  datastore,
  'ha-layout': haLayout,
  'bundle-authorities': bundleAuthorities,
  'disk-key-fingerprints': diskKeyFingerprints,
};

runCommand(commands);
