'use strict';
// The checks the e2e suite makes on the node: pods that cannot become ready, what the Envoy
// stand-in received over SDS, and the securityContext the runtime applied to each process.
const fs = require('fs');
const path = require('path');
const { X509Certificate } = require('crypto');
const { execFileSync } = require('child_process');
const { fail } = require('../../conformance/lib/manifests');

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const podName = (pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const allStatuses = (pod) => [...(pod.status.initContainerStatuses || []), ...(pod.status.containerStatuses || [])];

// ---- pods that cannot become ready --------------------------------------------------------------

// Waiting reasons the kubelet keeps reporting however long one waits.
const STUCK = new Set(['CrashLoopBackOff', 'ErrImageNeverPull', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError',
  'CreateContainerError', 'RunContainerError', 'InvalidImageName']);
// Events that repeat until someone changes the pod or the node.
const BLOCKING_EVENTS = [
  { reason: 'FailedMount', pattern: /not found in the list of registered CSI drivers/ },
  { reason: 'FailedCreatePodSandBox', pattern: /./, count: 3 },
];

function containerProblems(pod) {
  const problems = [];
  for (const status of allStatuses(pod)) {
    const waiting = status.state && status.state.waiting;
    const last = status.lastState && status.lastState.terminated;
    if (waiting && STUCK.has(waiting.reason)) problems.push(`container ${status.name}: ${waiting.reason}: ${waiting.message || ''}`);
    else if (status.restartCount >= 2 && last) problems.push(`container ${status.name} restarted ${status.restartCount} times, last ${last.reason} (exit ${last.exitCode})`);
  }
  return problems;
}

function eventProblems(pod, events) {
  return events
    .filter((e) => e.involvedObject.uid === pod.metadata.uid)
    .filter((e) => BLOCKING_EVENTS.some((b) => b.reason === e.reason && b.pattern.test(e.message) && (e.count || 1) >= (b.count || 1)))
    .map((e) => `event ${e.reason}: ${e.message}`);
}

// pods-state PODS_JSON EVENTS_JSON COUNT: "ready" when at least COUNT pods are listed and all are
// Ready, then a line of each pod's name and its containers' readiness; else "blocked" and, a line
// each, why a pod cannot become ready by waiting; else "waiting".
function podsState(podsFile, eventsFile, count) {
  const pods = readJson(podsFile).items;
  const current = pods.filter((pod) => !pod.metadata.deletionTimestamp);
  const ready = (pod) => (pod.status.conditions || []).some((c) => c.type === 'Ready' && c.status === 'True');
  const readiness = (pod) => `${pod.metadata.name} ${(pod.status.containerStatuses || []).map((s) => s.ready).join(' ')}`;
  if (current.length >= Number(count) && current.every(ready)) return console.log(`ready\n${current.map(readiness).join('; ')}`);
  const events = readJson(eventsFile).items;
  const problems = pods.flatMap((pod) => [...containerProblems(pod), ...eventProblems(pod, events)].map((p) => `${podName(pod)}: ${p}`));
  console.log([problems.length > 0 ? 'blocked' : 'waiting', ...problems].join('\n'));
}

// ---- SDS ----------------------------------------------------------------------------------------

// The stand-in in Envoy's place logs one line per secret it receives: "envoy-stand-in: {json}".
const STAND_IN_PREFIX = 'envoy-stand-in: ';

function standInSecrets(logFile) {
  const secrets = {};
  const errors = [];
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  for (const line of text.split('\n')) {
    const at = line.indexOf(STAND_IN_PREFIX);
    if (at < 0) continue;
    const secret = JSON.parse(line.slice(at + STAND_IN_PREFIX.length));
    if (secret.error) errors.push(secret.error);
    else secrets[secret.resource] = secret;
  }
  return { secrets, errors };
}

const certificates = (pem) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) || []).map((p) => new X509Certificate(p));
const issuedBy = (cert, ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey);
const oneLine = (name) => name.split('\n').join(', ');

// chainsTo CHAIN ROOTS: each certificate of the chain is signed by the next, the last by a root.
function chainsTo(chain, roots) {
  for (let i = 0; i + 1 < chain.length; i++) if (!issuedBy(chain[i], chain[i + 1])) return false;
  const top = chain[chain.length - 1];
  return roots.some((root) => root.fingerprint256 === top.fingerprint256 || issuedBy(top, root));
}

const logFileOf = (dir, pod) => path.join(dir, `${pod.metadata.namespace}.${pod.metadata.name}.log`);

// sds-received PODS_JSON LOG_DIR: succeeds when the stand-in of every pod got default and ROOTCA.
function sdsReceived(podsFile, dir) {
  const complete = (pod) => {
    const { secrets } = standInSecrets(logFileOf(dir, pod));
    return secrets.default && secrets.ROOTCA;
  };
  process.exit(readJson(podsFile).items.every(complete) ? 0 : 1);
}

function sdsProblem(pod, dir, bundle, istiodRoots, trustDomain) {
  const { secrets, errors } = standInSecrets(logFileOf(dir, pod));
  const want = `spiffe://${trustDomain}/ns/${pod.metadata.namespace}/sa/${pod.spec.serviceAccountName}`;
  const lastError = errors.length > 0 ? ` (last SDS error: ${errors[errors.length - 1]})` : '';
  if (!secrets.default) return `no SVID (SDS resource default) reached istio-proxy${lastError}`;
  if (!secrets.ROOTCA) return `no bundle (SDS resource ROOTCA) reached istio-proxy${lastError}`;
  const chain = certificates(secrets.default.certificateChain);
  if (chain.length === 0) return 'SDS resource default holds no certificate';
  const [leaf] = chain;
  const uris = (leaf.subjectAltName || '').split(', ').filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
  if (uris.length !== 1 || uris[0] !== want) return `SVID URI ${uris.join(' ') || '(none)'}, expected ${want}`;
  if (!secrets.default.privateKey) return 'SDS resource default came without its private key';
  if (chainsTo(chain, istiodRoots)) return `SVID ${want} is signed by istiod's CA (${oneLine(leaf.issuer)}), not by SPIRE`;
  if (!chainsTo(chain, bundle)) return `SVID ${want} (issuer ${oneLine(leaf.issuer)}) does not chain to the SPIRE bundle`;
  // A SPIFFE validation context (SPIRE sends one when it federates) holds a bundle per trust domain.
  const rootCa = secrets.ROOTCA.trustDomains ? secrets.ROOTCA.trustDomains[trustDomain] || '' : secrets.ROOTCA.trustedCa || '';
  const served = certificates(rootCa).map((c) => c.fingerprint256).sort();
  const expected = bundle.map((c) => c.fingerprint256).sort();
  if (served.join() !== expected.join()) return `ROOTCA holds ${served.length} certificates that are not the SPIRE bundle's ${expected.length}`;
  console.log(`ok: ${podName(pod)}: SVID ${want}, issuer ${oneLine(leaf.issuer)}, valid to ${leaf.validTo}; chains to the SPIRE bundle, not to istiod's CA; ROOTCA is the SPIRE bundle (${expected.length} authorities)`);
  return '';
}

// sds PODS_JSON LOG_DIR SPIRE_BUNDLE_PEM ISTIOD_ROOT_PEM TRUST_DOMAIN: fails unless every pod's
// istio-proxy received its own SVID, chaining to SPIRE's bundle, and SPIRE's bundle as ROOTCA.
function sds(podsFile, dir, bundleFile, istiodRootFile, trustDomain) {
  const bundle = certificates(fs.readFileSync(bundleFile, 'utf8'));
  if (bundle.length === 0) fail(`${bundleFile} holds no certificate: spire-server bundle show gave nothing`);
  const istiodRoots = certificates(fs.readFileSync(istiodRootFile, 'utf8'));
  const problems = readJson(podsFile).items
    .map((pod) => [pod, sdsProblem(pod, dir, bundle, istiodRoots, trustDomain)])
    .filter(([, problem]) => problem)
    .map(([pod, problem]) => `${podName(pod)}: ${problem}`);
  if (problems.length > 0) fail(problems.join('\n  '));
}

// federation PODS_JSON ENTRIES_JSON IDENTITIES_JSON LOG_DIR: the pods a federating
// ClusterSPIFFEID selects have entries that federate with its trust domains and hold those
// trust domains' bundles in ROOTCA; every other pod has neither.
function federationCheck(podsFile, entriesFile, identitiesFile, dir) {
  const entries = readJson(entriesFile).entries || [];
  const identities = readJson(identitiesFile).items.filter((i) => (i.spec.federatesWith || []).length > 0);
  const selects = (identity, pod) => Object.entries((identity.spec.podSelector || {}).matchLabels || {})
    .every(([key, value]) => (pod.metadata.labels || {})[key] === value);
  const problems = [];
  for (const pod of readJson(podsFile).items) {
    const want = [...new Set(identities.filter((i) => selects(i, pod)).flatMap((i) => i.spec.federatesWith))].sort();
    const entry = entries.find((e) => e.selectors.some((sel) => sel.type === 'k8s' && sel.value === `pod-uid:${pod.metadata.uid}`));
    const federatesWith = ((entry && entry.federates_with) || []).map((id) => id.replace(/^spiffe:\/\//, '')).sort();
    const { secrets } = standInSecrets(logFileOf(dir, pod));
    const held = Object.keys((secrets.ROOTCA && secrets.ROOTCA.trustDomains) || {}).sort();
    const own = entry ? entry.spiffe_id.trust_domain : '';
    const foreign = held.filter((td) => td !== own && !want.includes(td));
    if (federatesWith.join() !== want.join()) problems.push(`${podName(pod)}: entry federates with [${federatesWith}], expected [${want}]`);
    else if (want.some((td) => !held.includes(td))) problems.push(`${podName(pod)}: ROOTCA holds bundles of [${held}], not of every trust domain it federates with [${want}]`);
    else if (foreign.length > 0) problems.push(`${podName(pod)}: ROOTCA holds the bundles of [${foreign}], which its identity does not federate with`);
    else console.log(`ok: ${podName(pod)}: entry federates with [${federatesWith}], ROOTCA holds the bundles of [${held}]`);
  }
  if (problems.length > 0) fail(problems.join('\n  '));
}

// ---- securityContext, as the processes run -------------------------------------------------------

const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE',
  'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE'];
const capabilityNames = (hex) => CAPABILITIES.filter((_, bit) => (BigInt(`0x${hex}`) >> BigInt(bit)) & 1n);

// The process of each running container, from containerd's task list.
function taskPids() {
  const out = execFileSync('ctr', ['--address', '/run/containerd/containerd.sock', '-n', 'k8s.io', 'tasks', 'ls'], { encoding: 'utf8' });
  return new Map(out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === 'RUNNING').map((f) => [f[0], f[1]]));
}

function processFacts(pid) {
  const status = Object.fromEntries(fs.readFileSync(`/proc/${pid}/status`, 'utf8').trim().split('\n').map((l) => l.split(/:\s*/, 2)));
  const rootMount = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === '/');
  return {
    uid: Number(status.Uid.split(/\s+/)[1]),
    gid: Number(status.Gid.split(/\s+/)[1]),
    bounding: capabilityNames(status.CapBnd),
    effective: capabilityNames(status.CapEff),
    noNewPrivs: status.NoNewPrivs === '1',
    readOnlyRoot: rootMount[5].split(',').includes('ro'),
  };
}

function contextProblems(context, facts) {
  const problems = [];
  if (context.runAsUser !== undefined && facts.uid !== context.runAsUser) problems.push(`runs as uid ${facts.uid}, runAsUser ${context.runAsUser}`);
  if (context.runAsGroup !== undefined && facts.gid !== context.runAsGroup) problems.push(`runs as gid ${facts.gid}, runAsGroup ${context.runAsGroup}`);
  if (context.runAsNonRoot && facts.uid === 0) problems.push('runs as root despite runAsNonRoot');
  if (context.readOnlyRootFilesystem && !facts.readOnlyRoot) problems.push('root file system writable despite readOnlyRootFilesystem');
  if (context.allowPrivilegeEscalation === false && !facts.noNewPrivs) problems.push('no_new_privs unset despite allowPrivilegeEscalation: false');
  const capabilities = context.capabilities || {};
  if (!context.privileged && (capabilities.drop || []).includes('ALL')) {
    const allowed = new Set(capabilities.add || []);
    const extra = facts.bounding.filter((c) => !allowed.has(c));
    if (extra.length > 0) problems.push(`holds capabilities ${extra.join(',')} despite dropping ALL`);
  }
  return problems;
}

function describeFacts(facts) {
  return `uid ${facts.uid} gid ${facts.gid}, root ${facts.readOnlyRoot ? 'read-only' : 'writable'}, ` +
    `capabilities [${facts.bounding.length === CAPABILITIES.length ? 'all' : facts.bounding.join(',')}]${facts.noNewPrivs ? ', no_new_privs' : ''}`;
}

// security-contexts PODS_JSON: every running container's process has the user, root file system,
// capabilities and no_new_privs its securityContext (over the pod's) asks for.
function securityContexts(podsFile) {
  const pids = taskPids();
  const problems = [];
  let checked = 0;
  for (const pod of readJson(podsFile).items) {
    const specs = new Map([...(pod.spec.initContainers || []), ...pod.spec.containers].map((c) => [c.name, c]));
    for (const status of allStatuses(pod)) {
      const pid = pids.get((status.containerID || '').replace('containerd://', ''));
      if (!pid || !(status.state && status.state.running)) continue;
      const { runAsUser, runAsGroup, runAsNonRoot } = pod.spec.securityContext || {};
      const context = { runAsUser, runAsGroup, runAsNonRoot, ...(specs.get(status.name).securityContext || {}) };
      const facts = processFacts(pid);
      const found = contextProblems(context, facts);
      const name = `${podName(pod)} ${status.name}`;
      checked++;
      if (found.length > 0) problems.push(`${name}: ${found.join('; ')}`);
      else console.log(`ok: ${name}: ${describeFacts(facts)}`);
    }
  }
  if (checked === 0) fail('no running container found in containerd\'s task list');
  if (problems.length > 0) fail(problems.join('\n  '));
}

module.exports = { podsState, sdsReceived, sds, securityContexts, federationCheck, STAND_IN_PREFIX, certificates, logFileOf, taskPids };
