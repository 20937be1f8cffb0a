'use strict';
// What the fault scenarios read: the SVIDs each pod's Envoy stand-in received over time (its log
// collected with `kubectl logs --timestamps`), the pods' identities and restarts, and the entries.
const fs = require('fs');
const { fail } = require('../../conformance/lib/manifests');
const { STAND_IN_PREFIX, certificates, logFileOf } = require('./node-checks');

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const podName = (pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const seconds = (ms) => (ms / 1000).toFixed(1);

// The SVIDs (SDS resource default) and errors a stand-in logged, each with the time it was logged.
function timeline(logFile) {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  const svids = [];
  const errors = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(STAND_IN_PREFIX);
    if (at < 0) continue;
    const time = Date.parse(line.slice(0, line.indexOf(' ')));
    const logged = JSON.parse(line.slice(at + STAND_IN_PREFIX.length));
    if (logged.error) errors.push({ time, error: logged.error });
    else if (logged.resource === 'default') {
      const [leaf] = certificates(logged.certificateChain);
      if (leaf) svids.push({ time, serial: leaf.serialNumber, notAfter: Date.parse(leaf.validTo) });
    }
  }
  return { svids, errors };
}

// sds-again-since PODS_JSON LOG_DIR SINCE_MS: succeeds when every pod's stand-in lost its SDS
// stream at or after SINCE_MS and then received an SVID over a new one, printing how long after
// SINCE_MS the last pod had it.
function sdsAgainSince(podsFile, dir, since) {
  const pods = readJson(podsFile).items;
  const again = pods.map((pod) => {
    const { svids, errors } = timeline(logFileOf(dir, pod));
    const broke = errors.find((e) => e.time >= Number(since));
    return broke && svids.find((s) => s.time >= broke.time);
  });
  if (pods.length === 0 || again.some((s) => !s)) process.exit(1);
  console.log(`${pods.length} pods lost their SDS stream and received an SVID over a new one, the last ${seconds(Math.max(...again.map((s) => s.time)) - since)} s after`);
}

// sds-errors-since PODS_JSON LOG_DIR SINCE_MS: fails naming each pod whose stand-in lost its SDS
// stream (logged an error) at or after SINCE_MS.
function sdsErrorsSince(podsFile, dir, since) {
  const problems = readJson(podsFile).items.flatMap((pod) => timeline(logFileOf(dir, pod)).errors
    .filter((e) => e.time >= Number(since)).slice(-1).map((e) => `${podName(pod)}: ${e.error}`));
  if (problems.length > 0) fail(`SDS errors while the SPIRE part was down:\n  ${problems.join('\n  ')}`);
}

// rotated PODS_JSON LOG_DIR: succeeds when every pod's stand-in received a second SVID, of another
// serial, before the first expired; prints the margin per pod.
function rotated(podsFile, dir) {
  const pods = readJson(podsFile).items;
  const renewals = pods.map((pod) => {
    const [first, ...later] = timeline(logFileOf(dir, pod)).svids;
    const renewal = first && later.find((s) => s.serial !== first.serial);
    return renewal && renewal.time < first.notAfter ? { pod, first, renewal } : undefined;
  });
  if (pods.length === 0 || renewals.some((r) => !r)) process.exit(1);
  for (const { pod, first, renewal } of renewals) {
    console.log(`ok: ${podName(pod)}: SVID of ${seconds(first.notAfter - first.time)} s renewed after ${seconds(renewal.time - first.time)} s, ${seconds(first.notAfter - renewal.time)} s before it expired`);
  }
}

// pod-restarts PODS_JSON: "namespace/name uid restarts" per pod, to compare before and after.
function podRestarts(podsFile, container) {
  for (const pod of readJson(podsFile).items) {
    const restarts = [...(pod.status.initContainerStatuses || []), ...(pod.status.containerStatuses || [])]
      .filter((s) => !container || s.name === container)
      .reduce((sum, s) => sum + s.restartCount, 0);
    console.log(`${podName(pod)} ${pod.metadata.uid} ${restarts}`);
  }
}

// entries ENTRIES_JSON: "id spiffeID dnsNames" per entry, sorted, to compare before and after.
function entries(entriesFile) {
  const lines = (readJson(entriesFile).entries || [])
    .map((e) => `${e.id} ${e.spiffe_id.trust_domain}${e.spiffe_id.path} ${(e.dns_names || []).join(',')}`.trim());
  lines.sort().forEach((line) => console.log(line));
}

module.exports = { sdsAgainSince, sdsErrorsSince, rotated, podRestarts, entries, timeline };
