'use strict';
// Asserts on a Deployment after `istioctl kube-inject` that the SPIRE wiring reached istio-proxy.
// Usage: node assert-injection.js ORIGINAL INJECTED SOCKET_PATH PROFILE_MODE EXPECTED_MODE
// where the modes are native|classic: PROFILE_MODE is what istiod's ENABLE_NATIVE_SIDECARS
// gives, EXPECTED_MODE what the synthesized variant asked for. The e2e suite requires it to run
// the same checks on the pods istiod's webhook injected.
const path = require('path');
const { isDeepStrictEqual } = require('util');
const { loadFile } = require('./manifests');

// Where istio-proxy looks for the SDS socket (istio pkg/security WorkloadIdentityPath).
const ISTIO_WORKLOAD_SOCKET_DIR = '/var/run/secrets/workload-spiffe-uds';
const SPIFFE_CSI_DRIVER = 'csi.spiffe.io';
const PROXY = 'istio-proxy';
// Port of the istio-agent endpoint that application probes are rewritten to.
const AGENT_STATUS_PORT = 15020;

let failures = [];
let passed = [];
const check = (ok, message, detail) => (ok ? passed.push(message) : failures.push(detail ? `${message}; ${detail}` : message));

function deployment(file) {
  const docs = loadFile(file).filter(({ obj }) => obj.kind === 'Deployment');
  if (docs.length !== 1) throw new Error(`${file}: expected one Deployment, found ${docs.length}`);
  return docs[0].obj;
}

function duplicates(names) {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

// The pod annotation sidecar.istio.io/nativeSidecar takes precedence over istiod's setting.
function effectiveMode(template, profileMode) {
  const annotation = ((template.metadata || {}).annotations || {})['sidecar.istio.io/nativeSidecar'];
  if (annotation === 'true') return ['native', 'pod annotation sidecar.istio.io/nativeSidecar'];
  if (annotation === 'false') return ['classic', 'pod annotation sidecar.istio.io/nativeSidecar'];
  return [profileMode, "istiod's ENABLE_NATIVE_SIDECARS"];
}

// Gateway injection fills in the istio-proxy container the Deployment declares; it is the pod's
// main container whatever the sidecar mode.
function isGateway(template) {
  const templates = ((template.metadata || {}).annotations || {})['inject.istio.io/templates'] || '';
  return templates.split(',').map((t) => t.trim()).includes('gateway');
}

function checkProxyPlacement(pod, [mode, source], gateway, expectedMode) {
  const inInit = (pod.initContainers || []).find((c) => c.name === PROXY);
  const inMain = (pod.containers || []).find((c) => c.name === PROXY);
  if (gateway) {
    check(inMain && !inInit, `${PROXY} is the gateway's regular container`);
    return inMain || inInit;
  }
  check(mode === expectedMode, `sidecar mode is ${mode} (from ${source}); expected ${expectedMode}`);
  if (mode === 'native') {
    check(inInit && !inMain, `${PROXY} is a native sidecar (init container)`);
    check(inInit && inInit.restartPolicy === 'Always', `${PROXY} init container has restartPolicy Always`);
  } else {
    check(inMain && !inInit, `${PROXY} is a classic sidecar (regular container)`);
  }
  return inInit || inMain;
}

function checkSpireSocket(pod, proxy, socketPath) {
  const volumes = pod.volumes || [];
  const csiVolumes = volumes.filter((v) => v.csi && v.csi.driver === SPIFFE_CSI_DRIVER);
  check(csiVolumes.length > 0, `pod has a volume from CSI driver ${SPIFFE_CSI_DRIVER}`);
  for (const v of csiVolumes) check(v.csi.readOnly === true, `CSI volume ${v.name} sets csi.readOnly: true`);
  const csiNames = new Set(csiVolumes.map((v) => v.name));
  const mounts = (proxy.volumeMounts || []).filter((m) => csiNames.has(m.name));
  const socketDir = path.posix.dirname(socketPath);
  const atSocketDir = mounts.find((m) => path.posix.normalize(m.mountPath) === socketDir);
  check(atSocketDir, `${PROXY} mounts the CSI volume at ${socketDir} (directory of the agent's socket_path ${socketPath})`,
    `its mounts: ${JSON.stringify(proxy.volumeMounts || [])}`);
  if (atSocketDir) check(atSocketDir.readOnly === true, `${PROXY} mount ${atSocketDir.mountPath} is readOnly`);
  const atIstioDir = (proxy.volumeMounts || []).find((m) => path.posix.normalize(m.mountPath) === ISTIO_WORKLOAD_SOCKET_DIR);
  check(atIstioDir && csiNames.has(atIstioDir.name), `${PROXY}'s SDS socket directory ${ISTIO_WORKLOAD_SOCKET_DIR} is backed by the ${SPIFFE_CSI_DRIVER} volume (found ${atIstioDir ? `volume ${atIstioDir.name}` : 'no mount'})`);
  const envFile = (proxy.env || []).find((e) => e.name === 'WORKLOAD_IDENTITY_SOCKET_FILE');
  const expectedFile = envFile ? envFile.value : 'socket';
  check(path.posix.basename(socketPath) === expectedFile, `agent socket file name ${path.posix.basename(socketPath)} is what ${PROXY} opens (${expectedFile})`);
}

function checkPodShape(pod) {
  const all = [...(pod.initContainers || []), ...(pod.containers || [])];
  const dupContainers = duplicates(all.map((c) => c.name));
  check(dupContainers.length === 0, `no duplicate container names${dupContainers.length ? `: ${dupContainers}` : ''}`);
  const dupVolumes = duplicates((pod.volumes || []).map((v) => v.name));
  check(dupVolumes.length === 0, `no duplicate volume names${dupVolumes.length ? `: ${dupVolumes}` : ''}`);
  const noImage = all.filter((c) => !c.image || c.image === 'auto').map((c) => c.name);
  check(noImage.length === 0, `every container has a concrete image${noImage.length ? `; missing: ${noImage}` : ''}`);
  const volumeNames = new Set((pod.volumes || []).map((v) => v.name));
  const dangling = all.flatMap((c) => (c.volumeMounts || []).filter((m) => !volumeNames.has(m.name)).map((m) => `${c.name}:${m.name}`));
  check(dangling.length === 0, `every volumeMount refers to a pod volume${dangling.length ? `; dangling: ${dangling}` : ''}`);
}

// Serialization after injection adds empty defaults such as `resources: {}`.
function withoutEmpty(value) {
  if (Array.isArray(value)) return value.map(withoutEmpty);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const stripped = withoutEmpty(v);
    const empty = stripped !== null && typeof stripped === 'object' && Object.keys(stripped).length === 0;
    if (!empty) out[k] = stripped;
  }
  return out;
}

const QUANTITY_SUFFIXES = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

// The injector re-serializes quantities in their canonical form (2048Mi becomes 2Gi, 1000m
// becomes 1), as the API server does; compare resources by the amount they stand for.
function withCanonicalResources(container) {
  if (!container.resources) return container;
  const amount = (quantity) => {
    const match = /^([0-9.]+)([A-Za-z]*)$/.exec(String(quantity));
    return match && (match[2] === '' || match[2] in QUANTITY_SUFFIXES) ? Number(match[1]) * (QUANTITY_SUFFIXES[match[2]] ?? 1) : quantity;
  };
  const resources = Object.fromEntries(Object.entries(container.resources).map(([kind, values]) =>
    [kind, Object.fromEntries(Object.entries(values).map(([name, quantity]) => [name, amount(quantity)]))]));
  return { ...container, resources };
}

// Injection rewrites HTTP probes to go through istio-agent; nothing else may change.
function withoutRewrittenProbes(original, injected) {
  const copy = withoutEmpty(injected);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const rewritten = copy[probe] && copy[probe].httpGet && copy[probe].httpGet.port === AGENT_STATUS_PORT;
    if (rewritten && original[probe]) copy[probe] = withoutEmpty(original[probe]);
  }
  return copy;
}

function checkWorkloadUnchanged(before, after) {
  for (const list of ['containers', 'initContainers']) {
    for (const original of before[list] || []) {
      if (original.name === PROXY) continue; // gateways declare istio-proxy themselves, with image: auto
      const injected = (after[list] || []).find((c) => c.name === original.name);
      check(injected, `workload ${list.slice(0, -1)} ${original.name} is still present`);
      if (injected) {
        check(isDeepStrictEqual(withCanonicalResources(withoutRewrittenProbes(original, injected)), withCanonicalResources(withoutEmpty(original))),
          `workload ${list.slice(0, -1)} ${original.name} is unchanged apart from probe rewriting`);
      }
    }
  }
  for (const volume of before.volumes || []) {
    const kept = (after.volumes || []).find((v) => v.name === volume.name);
    check(kept && isDeepStrictEqual(withoutEmpty(kept), withoutEmpty(volume)), `workload volume ${volume.name} is unchanged`);
  }
}

/**
 * The checks on one injected pod template. `before` is the pod spec as written, or undefined
 * where the pod comes from the API server (which adds its defaults) rather than from kube-inject.
 */
function assertInjection({ before, template, socketPath, profileMode, expectedMode }) {
  failures = [];
  passed = [];
  try {
    const after = template.spec;
    const proxy = checkProxyPlacement(after, effectiveMode(template, profileMode), isGateway(template), expectedMode);
    if (proxy) checkSpireSocket(after, proxy, socketPath);
    checkPodShape(after);
    if (before) checkWorkloadUnchanged(before, after);
  } catch (e) {
    failures.push(e.message);
  }
  return { passed, failures };
}

if (require.main === module) {
  const [originalFile, injectedFile, socketPath, profileMode, expectedMode] = process.argv.slice(2);
  const result = assertInjection({
    before: deployment(originalFile).spec.template.spec,
    template: deployment(injectedFile).spec.template,
    socketPath,
    profileMode,
    expectedMode,
  });
  for (const message of result.passed) console.log(`    ok: ${message}`);
  for (const message of result.failures) console.log(`    FAIL: ${message}`);
  process.exit(result.failures.length ? 1 : 0);
}

module.exports = { assertInjection };
