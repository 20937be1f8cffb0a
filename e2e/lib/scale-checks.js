'use strict';
// What the scale run measures: how long pods created at once wait for their SVID (read from the
// kubelet's container logs of the Envoy stand-in), the controller manager's convergence on many
// stand-in pods, and the memory of SPIRE's processes.
const fs = require('fs');
const path = require('path');
const { taskPids } = require('./node-checks');
const { timeline } = require('./fault-checks');
const { processCpu } = require('./cost');

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const seconds = (ms) => (ms / 1000).toFixed(1);

// probe-deployment DEPLOYMENT_JSON NAME NAMESPACE: a Deployment of NAME in NAMESPACE, no replicas
// yet, whose pods are the given Deployment's (a SPIRE-enabled one), under a service account NAME.
function probeDeployment(deploymentFile, name, namespace) {
  const source = readJson(deploymentFile);
  const template = JSON.parse(JSON.stringify(source.spec.template));
  template.metadata.labels = { ...template.metadata.labels, app: name };
  // Requests small enough for a hundred on a 2-core node: what is measured is waiting, not CPU.
  template.metadata.annotations = { ...template.metadata.annotations, 'sidecar.istio.io/proxyCPU': '1m', 'sidecar.istio.io/proxyMemory': '16Mi' };
  for (const container of template.spec.containers) container.resources = { ...container.resources, requests: { cpu: '1m', memory: '8Mi' } };
  template.spec.serviceAccountName = name;
  console.log(JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace }, automountServiceAccountToken: false },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: { replicas: 0, selector: { matchLabels: { app: name } }, template },
      },
    ],
  }));
}

// The kubelet's log files of a container in the pods of a namespace: /var/log/pods/NS_POD_UID/CONTAINER/N.log.
function containerLogs(root, namespace, container) {
  return fs.readdirSync(root).filter((d) => d.startsWith(`${namespace}_`))
    .map((d) => path.join(root, d, container))
    .filter((d) => fs.existsSync(d))
    .map((d) => fs.readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => path.join(d, f)).sort().pop())
    .filter(Boolean);
}

// svid-latencies LOG_ROOT NAMESPACE SINCE_MS COUNT: succeeds when COUNT pods of NAMESPACE hold an
// SVID, printing the median and worst time from SINCE_MS (when they were asked for) to it.
function svidLatencies(root, namespace, since, count) {
  const firsts = containerLogs(root, namespace, 'istio-proxy')
    .map((file) => timeline(file).svids[0])
    .filter(Boolean)
    .map((svid) => svid.time - Number(since))
    // A pod of an earlier round whose log the kubelet has not removed yet had its SVID before.
    .filter((ms) => ms >= 0)
    .sort((a, b) => a - b);
  if (firsts.length < Number(count)) process.exit(1);
  console.log(`${firsts.length} pods created at once: SVID after median ${seconds(firsts[Math.floor((firsts.length - 1) / 2)])} s, worst ${seconds(firsts[firsts.length - 1])} s`);
}

// stand-in-pods COUNT NODES NAMESPACE LABEL: NODES Node objects no kubelet serves and COUNT pods
// bound to them (never run), each with the pod label LABEL=true a ClusterSPIFFEID selects.
function standInPods(count, nodes, namespace, label) {
  const items = [];
  for (let n = 0; n < Number(nodes); n++) {
    items.push({ apiVersion: 'v1', kind: 'Node', metadata: { name: `stand-in-node-${n}`, labels: { 'cdk8s-spire-istio/stand-in': 'true' } } });
  }
  for (let i = 0; i < Number(count); i++) {
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `stand-in-${i}`, namespace, labels: { [label]: 'true', app: 'stand-in' } },
      spec: {
        nodeName: `stand-in-node-${i % Number(nodes)}`,
        serviceAccountName: 'default',
        automountServiceAccountToken: false,
        tolerations: [{ operator: 'Exists' }],
        containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10.1' }],
      },
    });
  }
  console.log(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

// The process of each container NAMESPACE/POD/CONTAINER (POD: a prefix of its name), or undefined.
function containerPids(podsFile, containers) {
  const pids = taskPids();
  const pods = readJson(podsFile).items;
  return containers.map((wanted) => {
    const [namespace, podPrefix, container] = wanted.split('/');
    const pod = pods.find((p) => p.metadata.namespace === namespace && p.metadata.name.startsWith(podPrefix));
    const status = pod && (pod.status.containerStatuses || []).find((s) => s.name === container);
    return { container, pid: status && pids.get((status.containerID || '').replace('containerd://', '')) };
  });
}

// rss PODS_JSON NAMESPACE/POD/CONTAINER...: the resident memory of each container's process.
function rss(podsFile, ...containers) {
  for (const { container, pid } of containerPids(podsFile, containers)) {
    const line = pid && fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    console.log(`${container} ${line ? `${Math.round(Number(line.split(/\s+/)[1]) / 1024)} MiB` : 'not running'}`);
  }
}

// cpu-seconds PODS_JSON NAMESPACE/POD/CONTAINER...: the CPU time each container's process has used so far.
function cpuSeconds(podsFile, ...containers) {
  for (const { container, pid } of containerPids(podsFile, containers)) {
    const cpu = pid && processCpu(pid);
    console.log(`${container} ${cpu ? cpu.seconds.toFixed(2) : 'not running'}`);
  }
}

module.exports = { probeDeployment, svidLatencies, standInPods, rss, cpuSeconds };
