# shellcheck shell=bash
# Faults a running mesh must survive, each a stage of the `faults` run (the output with SVIDs short
# enough to rotate while it runs): a SPIRE part killed or taken down, what kept working meanwhile,
# what it lost (must be nothing), and how long until every pod had its SVID again. Sourced by
# cluster.sh after the other helpers; every figure goes to the run's output as it is measured.

now_ms() { date +%s%3N; }
# since_s SINCE_MS: seconds from then to now, to a tenth.
since_s() { awk -v ms="$(($(now_ms) - $1))" 'BEGIN { printf "%.1f", ms / 1000 }'; }

# The stand-in's log of every SPIRE-enabled pod, with the kubelet's timestamps.
collect_timed_sds_logs() { collect_sds_logs sds-timed timestamps=true; }

# sds_again_since SINCE_MS: every pod's SDS stream broke since then and an SVID came over a new one.
sds_again_since() {
  spire_enabled_pods
  collect_timed_sds_logs
  pods_js sds-again-since "$S/spire-pods.json" "$S/sds-timed" "$1" >"$S/sds-again.txt"
}

# no_sds_error_since SINCE_MS: no running pod's stand-in lost its SDS stream since then.
no_sds_error_since() {
  collect_timed_sds_logs
  pods_js sds-errors-since "$S/spire-pods.json" "$S/sds-timed" "$1"
}

record_pods() { spire_enabled_pods && pods_js pod-restarts "$S/spire-pods.json" >"$S/$1"; }

# unchanged BEFORE AFTER WHAT: two recordings are the same, else fails naming WHAT and the lines
# that differ.
unchanged() {
  diff "$S/$1" "$S/$2" >"$S/$2.diff" || { echo "FAIL: $3:"; sed 's/^/    /' "$S/$2.diff"; return 1; }
}

# same_pods_unrestarted BEFORE: the SPIRE-enabled pods recorded in BEFORE still run, none restarted.
same_pods_unrestarted() {
  record_pods pods.after
  unchanged "$1" pods.after "SPIRE-enabled pods replaced or restarted (namespace/name uid restarts)" || return 1
  log "$(grep -c . "$S/$1") SPIRE-enabled pods kept running, none restarted"
}

record_entries() { server_cli entry show -output json >"$S/entries.json" && pods_js entries "$S/entries.json" >"$S/$1"; }

# same_entries BEFORE: the server holds exactly the entries recorded in BEFORE, by ID.
same_entries() {
  record_entries entries.after
  unchanged "$1" entries.after "entries changed (id spiffe-id dns-names)" || return 1
  log "the same $(grep -c . "$S/$1") entries, by ID"
}

record_authorities() {
  server_cli bundle show -format pem >"$S/$1.bundle"
  server_cli localauthority x509 show >"$S/$1.authority"
}

# same_authorities BEFORE: the same trust bundle and the same active X.509 authority (CA key).
same_authorities() {
  record_authorities authorities.after
  cmp -s "$S/$1.bundle" "$S/authorities.after.bundle" || { echo "FAIL: the trust bundle changed"; return 1; }
  cmp -s "$S/$1.authority" "$S/authorities.after.authority" || {
    echo "FAIL: the X.509 authorities changed:"
    diff "$S/$1.authority" "$S/authorities.after.authority" | sed 's/^/    /'
    return 1
  }
  log "the same trust bundle and X.509 authority ($(grep -m1 -i 'authority id' "$S/$1.authority" | xargs))"
}

container_restarts() {
  kc -n "$1" get pod "$2" -o jsonpath="{.status.containerStatuses[?(@.name==\"$3\")].restartCount}"
}

# kill_container NS POD CONTAINER: SIGKILL to the container's process, as a crash or the OOM
# killer would send; the kubelet restarts it in the same pod.
kill_container() {
  local id
  id="$(kc -n "$1" get pod "$2" -o jsonpath="{.status.containerStatuses[?(@.name==\"$3\")].containerID}")"
  [[ -n "$id" ]] || { echo "FAIL: no running container $3 in $1/$2"; return 1; }
  ctr_k8s tasks kill --signal SIGKILL "${id#containerd://}" >/dev/null
}

restarted() { [[ "$(container_restarts "$1" "$2" "$3")" -gt "$4" ]]; }

# kill_and_wait NS POD CONTAINER SELECTOR WHAT: the container killed, restarted and its pod Ready.
kill_and_wait() {
  local before
  before="$(container_restarts "$1" "$2" "$3")"
  kill_container "$1" "$2" "$3" || return 1
  wait_for "$WAIT" "the kubelet to restart $3" restarted "$1" "$2" "$3" "$before" || return 1
  wait_pods_ready "$1" "$4" "$5" >/dev/null
}

# The agent crashes: pods keep their CSI-mounted socket directory, in which the restarted agent
# creates its socket again, so every stand-in gets its SVID again without a pod restart.
fault_agent_killed() {
  local pod since
  record_pods pods.before
  pod="$(agent_pod)"
  since="$(now_ms)"
  kill_and_wait spire-system "$pod" spire-agent app.kubernetes.io/name=spire-agent "spire-agent pod" || return 1
  log "spire-agent killed (SIGKILL) and Ready again after $(since_s "$since") s"
  wait_for "$WAIT" "every SPIRE-enabled pod to receive its SVID again over a new SDS stream" sds_again_since "$since" || return 1
  log "$(cat "$S/sds-again.txt") the kill, through the same mounted socket directory"
  same_pods_unrestarted pods.before && check_sds >/dev/null
}

# The server crashes: its datastore and CA keys are on its volume, so it comes back with the same
# entries and authority, while the agent serves the SVIDs it holds.
fault_server_killed() {
  local since
  record_pods pods.before
  record_entries entries.before
  record_authorities authorities.before
  since="$(now_ms)"
  kill_and_wait spire-server spire-server-0 spire-server app.kubernetes.io/name=spire-server "spire-server pod" || return 1
  log "spire-server killed (SIGKILL) and Ready again after $(since_s "$since") s"
  no_sds_error_since "$since" || return 1
  log "no pod's SDS stream broke while the server was down"
  same_entries entries.before && same_authorities authorities.before && same_pods_unrestarted pods.before
}

controller_manager_log() { kc -n spire-server logs spire-server-0 -c spire-controller-manager; }

# The controller manager restarts: it must find its entries as they are, deleting and creating
# none, and reconcile a ClusterSPIFFEID changed after it is back by updating entries in place.
fault_controller_manager_killed() {
  local since identity template
  record_entries entries.before
  since="$(now_ms)"
  kill_and_wait spire-server spire-server-0 spire-controller-manager app.kubernetes.io/name=spire-server "spire-server pod" || return 1
  log "spire-controller-manager killed (SIGKILL) and Ready again after $(since_s "$since") s"
  # Its first reconciliation runs at start; three polls five seconds apart see its outcome.
  local poll
  for poll in 1 2 3; do
    sleep 5
    same_entries entries.before >/dev/null || { same_entries entries.before; return 1; }
  done
  if controller_manager_log | grep -E '"(Created|Deleted) entry"|(Created|Deleted) entry' >"$S/cm-recreated.txt"; then
    echo "FAIL: the restarted controller manager recreated entries:"
    sed 's/^/    /' "$S/cm-recreated.txt" | head -n 5
    return 1
  fi
  log "after its restart, the same entries by ID: none deleted or created"
  identity="$(kc get clusterspiffeids -o jsonpath='{.items[0].metadata.name}')"
  template='{{ .PodMeta.Name }}.faults.example'
  kc patch clusterspiffeid "$identity" --type=merge -p "{\"spec\":{\"dnsNameTemplates\":[\"$template\"]}}" >/dev/null
  wait_for "$WAIT" "the entries of ClusterSPIFFEID $identity to gain DNS names" entries_have_dns_names || return 1
  log "ClusterSPIFFEID $identity changed: its entries updated in place ($(controller_manager_log | grep -c 'Updated entry') updates, none recreated)"
}

entries_have_dns_names() {
  record_entries entries.dns
  grep -q '\.faults\.example' "$S/entries.dns" && [[ "$(cut -d' ' -f1 "$S/entries.dns")" == "$(cut -d' ' -f1 "$S/entries.before")" ]]
}

PROBE_IDENTITY=faults-probe

probe_identity() {
  cat <<EOF
apiVersion: spire.spiffe.io/v1alpha1
kind: ClusterSPIFFEID
metadata:
  name: $PROBE_IDENTITY
spec:
  className: ${FACT[managerClassName]}
  spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"
  namespaceSelector:
    matchLabels:
      $PROBE_IDENTITY: selected
EOF
}

apply_probe_identity() { probe_identity | kc apply -f -; }

# entries_kept BEFORE: every entry recorded in BEFORE is still there, by ID (others may be new).
entries_kept() {
  record_entries entries.after
  comm -23 "$S/$1" "$S/entries.after" >"$S/entries.lost"
  [[ ! -s "$S/entries.lost" ]] || { echo "FAIL: entries lost:"; sed 's/^/    /' "$S/entries.lost"; return 1; }
  log "all $(grep -c . "$S/$1") entries kept, by ID"
}

server_pods_gone() { [[ -z "$(kc -n spire-server get pods -l app.kubernetes.io/name=spire-server -o name)" ]]; }

# The server's pod is down (its controller manager and admission webhook with it): a new
# ClusterSPIFFEID is refused, not stored unvalidated; a pod started meanwhile waits, and gets its
# SVID once the pod is back, when the same ClusterSPIFFEID is admitted.
fault_server_pod_down() {
  local down back
  record_pods pods.before
  record_entries entries.before
  record_authorities authorities.before
  kc -n spire-server scale statefulset spire-server --replicas=0 >/dev/null
  wait_for "$WAIT" "the spire-server pod to be gone" server_pods_gone || return 1
  down="$(now_ms)"
  if apply_probe_identity >"$S/probe-refused.txt" 2>&1; then
    echo "FAIL: ClusterSPIFFEID $PROBE_IDENTITY admitted while the controller manager's webhook was down"
    return 1
  fi
  kc get clusterspiffeid "$PROBE_IDENTITY" >/dev/null 2>&1 && { echo "FAIL: the refused ClusterSPIFFEID was stored"; return 1; }
  log "ClusterSPIFFEID $PROBE_IDENTITY refused while the webhook was down: $(grep -o 'failed calling webhook[^:]*' "$S/probe-refused.txt" | head -n 1)"
  kc -n demo scale deploy httpbin --replicas=2 >/dev/null
  sleep 10
  no_sds_error_since "$down" || return 1
  log "during $(since_s "$down") s without the server, no running pod's SDS stream broke"
  kc -n spire-server scale statefulset spire-server --replicas=1 >/dev/null
  wait_pods_ready spire-server app.kubernetes.io/name=spire-server "spire-server pod" >/dev/null || return 1
  back="$(now_ms)"
  log "spire-server pod Ready again $(since_s "$down") s after it was gone"
  same_authorities authorities.before && entries_kept entries.before || return 1
  wait_for "$WAIT" "the webhook to admit ClusterSPIFFEID $PROBE_IDENTITY" apply_probe_identity || return 1
  kc delete clusterspiffeid "$PROBE_IDENTITY" >/dev/null
  wait_for "$WAIT" "deploy/httpbin to have 2 ready pods" ready_replicas_are demo httpbin 2 || return 1
  wait_for "$WAIT" "every SPIRE-enabled pod, the one started meanwhile too, to hold its SVID" sds_served || return 1
  log "the pod started while the server was down got its SVID $(since_s "$back") s after the server was back"
  check_sds >/dev/null && kc -n demo scale deploy httpbin --replicas=1 >/dev/null
}

rotated() {
  spire_enabled_pods
  collect_timed_sds_logs
  pods_js rotated "$S/spire-pods.json" "$S/sds-timed" >"$S/rotated.txt"
}

# With SVIDs of minutes, the agent renews each before it expires and pushes it over the same
# stream: a second SVID of another serial reaches every stand-in, with no pod restarted. Checked
# first, while each stand-in's stream is still the one it opened at start.
check_rotation() {
  record_pods pods.before
  idle wait_for 180 "every SPIRE-enabled pod to receive a renewed SVID before the first expired" rotated || return 1
  sed 's/^/  /' "$S/rotated.txt"
  same_pods_unrestarted pods.before
}

# fault_stage TITLE FUNCTION: a stage of the faults run, unless FAULTS_ONLY names other functions
# (a must-fail copy runs only the scenario that must catch it).
fault_stage() {
  [[ -z "${FAULTS_ONLY:-}" || " $FAULTS_ONLY " == *" $2 "* ]] || return 0
  stage "$@"
}

fault_scenarios() {
  fault_stage "SVIDs renewed before they expire and pushed to the running pods, none restarted" check_rotation
  fault_stage "spire-agent killed: every pod gets its SVID again through the same socket, none restarted" fault_agent_killed
  fault_stage "spire-server killed: the same entries, trust bundle and CA key; no pod's SDS stream broke" fault_server_killed
  fault_stage "controller manager killed: no entry deleted or recreated; a ClusterSPIFFEID changed afterwards updates its entries in place" fault_controller_manager_killed
  fault_stage "server pod down and back on its volume: the same CA key and entries; a new ClusterSPIFFEID refused meanwhile (fail closed); a pod started meanwhile gets its SVID" fault_server_pod_down
  fault_stage "the API server refused no request of the output's service accounts; every grant used or documented as unused" check_rbac_use
}
