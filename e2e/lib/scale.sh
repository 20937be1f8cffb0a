# shellcheck shell=bash
# Identity at scale, measured on the node (`bash e2e/run.sh --scale`, `npm run bench:node`): how
# long pods created at once wait for their SVID, and how the controller manager and server cope
# with many pods. Figures, not checks: a measurement fails only when its pods never get there.
# Sourced by cluster.sh; needs faults.sh's now_ms and since_s.

SCALE_NAMESPACE=scale
# The SPIRE containers whose memory and CPU the measurements report (NAMESPACE/POD/CONTAINER).
SERVER_CONTAINER=spire-server/spire-server-0/spire-server
MANAGER_CONTAINER=spire-server/spire-server-0/spire-controller-manager
AGENT_CONTAINER=spire-system/spire-agent/spire-agent
PROBE=svid-probe
STAND_IN_NAMESPACE=scale-stand-in

# A namespace whose pods istiod injects, holding a copy of the demo's sleep Deployment: pods with
# the output's templates, selected by the mesh's ClusterSPIFFEID, under a service account of their own.
make_probe_deployment() {
  kc create namespace "$SCALE_NAMESPACE" >/dev/null
  kc label namespace "$SCALE_NAMESPACE" istio-injection=enabled >/dev/null
  kc -n demo get deploy sleep -o json >"$S/sleep-deployment.json"
  pods_js probe-deployment "$S/sleep-deployment.json" "$PROBE" "$SCALE_NAMESPACE" | kc apply -f - >/dev/null
}

svid_latencies() { pods_js svid-latencies /var/log/pods "$SCALE_NAMESPACE" "$1" "$2" >"$S/latencies.txt"; }
probe_pods_gone() { [[ -z "$(kc -n "$SCALE_NAMESPACE" get pods -o name)" ]]; }

# time_to_svid COUNT: COUNT probe pods asked for at once; the time until each holds its SVID.
time_to_svid() {
  local count="$1" since
  kc -n "$SCALE_NAMESPACE" scale deploy "$PROBE" --replicas=0 >/dev/null
  wait_for 300 "the probe pods to be gone" probe_pods_gone || return 1
  since="$(now_ms)"
  kc -n "$SCALE_NAMESPACE" scale deploy "$PROBE" --replicas="$count" >/dev/null
  wait_for 600 "$count probe pods to hold their SVID" svid_latencies "$since" "$count" || {
    log "pods by phase: $(kc -n "$SCALE_NAMESPACE" get pods --no-headers | awk '{print $3}' | sort | uniq -c | xargs)"
    kc -n "$SCALE_NAMESPACE" get events --field-selector type=Warning --no-headers 2>&1 | awk '{$1=$2=$3=""; print}' | sort | uniq -c | sort -rn | head -n 3 | sed 's/^/    /'
    return 1
  }
  log "$(cat "$S/latencies.txt")"
  record_pods_json
  log "memory: $(pods_js rss "$S/pods.json" "$SERVER_CONTAINER" "$AGENT_CONTAINER" | paste -sd, | sed 's/,/, /g')"
}

entry_count() { server_cli entry count | awk '{print $1}'; }
entries_at_least() { [[ "$(entry_count)" -ge "$1" ]]; }

# The controller manager's convergence: COUNT pods (stand-ins bound to Node objects no kubelet
# serves, so they never run) selected by the mesh's ClusterSPIFFEID; the time until the server
# holds an entry for each, and the memory of the server and the controller manager then.
converge_stand_ins() {
  local count="$1" nodes=20 before since
  before="$(entry_count)"
  kc create namespace "$STAND_IN_NAMESPACE" >/dev/null
  pods_js stand-in-pods "$count" "$nodes" "$STAND_IN_NAMESPACE" spiffe.io/spire-managed-identity >"$S/stand-ins.json"
  since="$(now_ms)"
  kc apply -f "$S/stand-ins.json" >/dev/null
  log "$count stand-in pods on $nodes Node objects created in $(since_s "$since") s"
  wait_for 600 "an entry for each of $count stand-in pods" entries_at_least "$((before + count))" || return 1
  log "the server holds $(entry_count) entries, $count new $(since_s "$since") s after the pods were asked for"
  record_pods_json
  log "memory: $(pods_js rss "$S/pods.json" "$SERVER_CONTAINER" "$MANAGER_CONTAINER" | paste -sd, | sed 's/,/, /g')"
}

# What keeping the entries current costs once nothing changes: the CPU SPIRE's processes use over
# IDLE_SECONDS, as a share of one core (a faster cache reload or agent sync costs more here).
idle_cost() {
  local seconds="${SCALE_IDLE_SECONDS:-60}" containers=("$SERVER_CONTAINER" "$MANAGER_CONTAINER" "$AGENT_CONTAINER")
  record_pods_json
  pods_js cpu-seconds "$S/pods.json" "${containers[@]}" >"$S/cpu-before.txt"
  sleep "$seconds"
  pods_js cpu-seconds "$S/pods.json" "${containers[@]}" >"$S/cpu-after.txt"
  log "CPU over ${seconds} s with $(entry_count) entries: $(paste "$S/cpu-before.txt" "$S/cpu-after.txt" |
    awk -v s="$seconds" '{printf "%s%s %.2f %% of a core", (NR > 1 ? ", " : ""), $1, ($4 - $2) * 100 / s}')"
}

scale_measurements() {
  stage "a Deployment of SPIRE-enabled probe pods in namespace $SCALE_NAMESPACE" make_probe_deployment
  local count
  for count in ${SCALE_POD_COUNTS:-1 1 1 1 1 20 100}; do
    stage "$count pods created at once: time until each holds its SVID" time_to_svid "$count"
  done
  stage "${SCALE_STAND_IN_PODS:-1000} stand-in pods: time until the controller manager gave each an entry" converge_stand_ins "${SCALE_STAND_IN_PODS:-1000}"
  stage "SPIRE's CPU while nothing changes" idle_cost
}
