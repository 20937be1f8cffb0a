# shellcheck shell=bash
# An external datastore for outputs that name one, and the faults of the `ha` run (the output with
# three server replicas on PostgreSQL): a replica killed, and the database stopped for longer than
# the replicas' liveness window. Sourced by cluster.sh after faults.sh, whose helpers it uses.

PG_DIR_NAME=postgres
PG_PORT=5432

# PostgreSQL outside the cluster, at the node's address as a managed database would be reached,
# trusting the pod network; and the Secret the output reads its connection string from.
start_external_datastore() {
  local namespace name key pg="$S/$PG_DIR_NAME"
  IFS=/ read -r namespace name key <<<"${FACT[datastoreSecret]}"
  install_postgres "$S/logs/apt.log" || return 1
  # The postgres user must reach its directory inside the run's scratch directory.
  chmod a+x "$(dirname "$S")" "$S"
  init_postgres "$pg" "$POD_SUBNET" && start_postgres "$pg" "$NODE_IP" "$PG_PORT" && create_spire_database "$pg" "$PG_PORT" || return 1
  kc create namespace "$namespace" --save-config >/dev/null
  kc -n "$namespace" create secret generic "$name" \
    --from-literal="$key=host=$NODE_IP port=$PG_PORT user=postgres dbname=spire sslmode=disable" >/dev/null
  log "$("$(postgres_bin)/postgres" --version) at $NODE_IP:$PG_PORT, outside the cluster; Secret $namespace/$name holds the connection string"
}

# Stopped, not killed, when the run stops (nothing without a database): a killed PostgreSQL leaves
# its shared memory behind.
stop_external_datastore() { stop_postgres "$S/$PG_DIR_NAME"; }

server_pods() { kc -n spire-server get pods -l app.kubernetes.io/name=spire-server -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }

# The spire-server container's restart count in every server pod, a line each.
record_server_restarts() {
  api_get /api/v1/namespaces/spire-server/pods labelSelector=app.kubernetes.io/name=spire-server >"$S/server-pods.json" &&
    pods_js pod-restarts "$S/server-pods.json" spire-server >"$S/$1"
}

# outage SECONDS DOWN_MS: the database, stopped at DOWN_MS, stays away SECONDS more, or until a server
# replica restarts (which fails the scenario: no need to wait it out); restarts in restarts.during.
outage() {
  local until=$((SECONDS + $1))
  while ((SECONDS < until)); do
    sleep $((until - SECONDS < 10 ? until - SECONDS : 10))
    record_server_restarts restarts.during
    cmp -s "$S/restarts.before" "$S/restarts.during" || { log "a server replica restarted $(since_s "$2") s into the outage"; return 0; }
  done
}

# One replica crashes: the others serve meanwhile, and it comes back with the CA key on its volume;
# the entries and the trust bundle stay the same, and a pod started afterwards gets its SVID.
fault_replica_killed() {
  local victim=spire-server-1 since
  record_pods pods.before
  record_entries entries.before
  SERVER_POD="$victim" record_authorities authorities.before
  since="$(now_ms)"
  kill_and_wait spire-server "$victim" spire-server app.kubernetes.io/name=spire-server "spire-server pods" || return 1
  log "$victim's spire-server killed (SIGKILL) and Ready again after $(since_s "$since") s; $(server_pods | grep -vc "^$victim$") other replicas served meanwhile"
  no_sds_error_since "$since" || return 1
  log "no pod's SDS stream broke"
  same_entries entries.before && SERVER_POD="$victim" same_authorities authorities.before && same_pods_unrestarted pods.before || return 1
  new_pod_gets_svid "$since"
}

# new_pod_gets_svid SINCE_MS: one more httpbin pod holds its SVID, timed from then.
new_pod_gets_svid() {
  kc -n demo scale deploy httpbin --replicas=2 >/dev/null
  wait_for "$WAIT" "deploy/httpbin to have 2 ready pods" ready_replicas_are demo httpbin 2 || return 1
  wait_for "$WAIT" "every SPIRE-enabled pod, the new one too, to hold its SVID" sds_served || return 1
  log "a new pod got its SVID $(since_s "$1") s after that"
  kc -n demo scale deploy httpbin --replicas=1 >/dev/null
  wait_for "$WAIT" "the second httpbin pod to be gone" no_pod_terminating || return 1
  # Its entry goes a moment after it: recorded before that, it would count as lost later.
  wait_for 45 "the second httpbin pod's entry to be removed" entry_count_is "$(deployment_id demo httpbin)" 1
}

# SPIRE's own /live on each replica's health port fails (as a liveness probe on it would find).
live_failing_everywhere() {
  local pod address
  for pod in $(server_pods); do
    api_get "/api/v1/namespaces/spire-server/pods/$pod" >"$S/live-pod.json" &&
      address="$(pods_js port-address "$S/live-pod.json" spire-server server-health)" || return 1
    ! curl -fsS --max-time 5 -o /dev/null "http://$address/live" || return 1
  done
}
# Beyond the liveness window: time for a restart to show in the pod's status and for the next look
# (outage looks every 10 s).
LIVENESS_MARGIN=15

ready_server_replicas() { ready_replicas /apis/apps/v1/namespaces/spire-server/statefulsets/spire-server; }
replicas_ready() { [[ "$(ready_server_replicas)" == "$1" ]]; }

# The database goes away for longer than the liveness probe tolerates failures: SPIRE's health
# endpoints fail with it on every replica at once. No replica may be restarted for it (a restart
# cannot bring the database back, and a server that cannot reach it at start exits into the
# kubelet's growing back-off); the agents serve the SVIDs they hold; once the database is back,
# every replica serves again and new pods get their SVIDs.
fault_datastore_down() {
  local window down up replicas
  window="$(pods_js liveness-window "$DIR" spire-server)"
  replicas="$(server_pods | grep -c .)"
  record_pods pods.before
  record_entries entries.before
  record_server_restarts restarts.before
  stop_postgres "$S/$PG_DIR_NAME" || { echo "FAIL: pg_ctl stop"; return 1; }
  down="$(now_ms)"
  # SPIRE notices only at its next round of health checks: the outage lasts until its /live has
  # failed on every replica for the container's whole liveness window, and LIVENESS_MARGIN more.
  idle wait_for 240 "SPIRE's /live to fail on every replica" live_failing_everywhere || return 1
  log "PostgreSQL stopped (pg_ctl stop -m fast); SPIRE's /live failed on every replica $(since_s "$down") s later"
  idle outage "$((window + LIVENESS_MARGIN))" "$down"
  log "the database stayed away $(since_s "$down") s: /live failing ${window} s (the spire-server container's liveness window) and ${LIVENESS_MARGIN} s more"
  log "during the outage $(ready_server_replicas) of $replicas replicas ready"
  no_sds_error_since "$down" || return 1
  log "no running pod's SDS stream broke during the outage"
  start_postgres "$S/$PG_DIR_NAME" "$NODE_IP" "$PG_PORT" || return 1
  up="$(now_ms)"
  unchanged restarts.before restarts.during "server replicas restarted while the database was away (pod restarts)" || return 1
  log "none of the $replicas replicas restarted"
  # SPIRE re-runs its health checks a minute after the last round, and a round that began while
  # the database was away waits up to a minute for it: readiness may lag its return by minutes.
  idle wait_for 240 "all $replicas server replicas to be ready again" replicas_ready "$replicas" || return 1
  log "PostgreSQL started again: all $replicas replicas ready after $(since_s "$up") s"
  entries_kept entries.before && same_pods_unrestarted pods.before && new_pod_gets_svid "$up"
}

ha_scenarios() {
  stage "one of 3 server replicas killed: the others serve, it comes back with its CA key; the same entries and bundle; a new pod gets its SVID" fault_replica_killed
  stage "PostgreSQL stopped for longer than the liveness window: no replica restarted, no pod's SVID lost; started again, every replica ready and a new pod gets its SVID" fault_datastore_down
  stage "the API server refused no request of the output's service accounts; every grant used or documented as unused" check_rbac_use
}
