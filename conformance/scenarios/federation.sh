# shellcheck shell=bash
# Federation with the real server: the two clusters of the federation example, each a real
# spire-server started on its synthesized server.conf (paths in a scratch directory, listeners on
# loopback), federated through the server's own CLI with exactly the values each cluster's
# ClusterFederatedTrustDomain carries (only the endpoint URL's host and port remapped to the
# partner's loopback endpoint). Sourced by conformance/run.sh, which provides WORK, the tool
# locations and run_check.

# The clusters are the example's output folders; names and trust domains are read from them.
FEDERATION_CLUSTERS=()
declare -A FEDERATION_TRUST_DOMAIN FEDERATION_PARTNER

federation_lib() { node "$CONFORMANCE_DIR/lib/federation.js" "$@"; }
federation_socket() { echo "$FEDERATION_WORK/$1/api.sock"; }
federation_cli() {
  local cluster="$1"
  shift
  "$(spire_server_bin)" "$@" -socketPath "$(federation_socket "$cluster")"
}

# Both servers stop when the scenario ends, however it ends (at_exit).
federation_stop_servers() {
  local cluster pid
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    pid="$(cat "$FEDERATION_WORK/$cluster.pid" 2>/dev/null)" || continue
    rm -f "$FEDERATION_WORK/$cluster.pid"
    stop_process "$pid"
  done
}

federation_start_servers() {
  local ports cluster grpc bundle
  read -r -a ports <<<"$(free_ports 4)"
  local index=0
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    grpc="${ports[$index]}" bundle="${ports[$((index + 1))]}"
    index=$((index + 2))
    echo "$bundle" >"$FEDERATION_WORK/$cluster.bundle-port"
    federation_lib remap-server "$FEDERATION_WORK/dist/$cluster" "$FEDERATION_WORK/$cluster" "$grpc" "$bundle" "$FEDERATION_WORK/$cluster.conf"
    "$(spire_server_bin)" run -config "$FEDERATION_WORK/$cluster.conf" >"$FEDERATION_WORK/$cluster.log" 2>&1 &
    echo $! >"$FEDERATION_WORK/$cluster.pid"
  done
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    wait_for_process "spire-server of $cluster (${FEDERATION_TRUST_DOMAIN[$cluster]}) healthy, bundle endpoint on 127.0.0.1:$(cat "$FEDERATION_WORK/$cluster.bundle-port")" \
      60 "$(cat "$FEDERATION_WORK/$cluster.pid")" "$FEDERATION_WORK/$cluster.log" federation_cli "$cluster" healthcheck
  done
}

# The relationship of CLUSTER with its partner, as CLUSTER's ClusterFederatedTrustDomain says,
# bootstrapped with the partner's current bundle (the https_spiffe profile authenticates the
# first fetch with it).
federation_relationship() {
  local cluster="$1" partner="${FEDERATION_PARTNER[$1]}"
  federation_cli "$partner" bundle show -format spiffe >"$FEDERATION_WORK/$partner.bundle.json"
  federation_lib relationship "$FEDERATION_WORK/dist/$cluster" "${FEDERATION_TRUST_DOMAIN[$partner]}" \
    "127.0.0.1:$(cat "$FEDERATION_WORK/$partner.bundle-port")" "$FEDERATION_WORK/$partner.bundle.json" "$FEDERATION_WORK/$cluster.relationship.json"
}

federation_authorities() {
  federation_cli "$1" bundle list -format spiffe >"$FEDERATION_WORK/$1.bundles.txt"
  federation_lib x509-authorities "$FEDERATION_WORK/$1.bundles.txt" "$2"
}

# Each server federates with the other; then the partner prepares a new X.509 authority, which
# only a fetch from its bundle endpoint can bring, and a refresh must bring it.
check_federation_refresh() {
  local cluster partner partner_td before after
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    federation_relationship "$cluster"
    federation_cli "$cluster" federation create -data "$FEDERATION_WORK/$cluster.relationship.json" | sed 's/^/  /'
  done
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    partner="${FEDERATION_PARTNER[$cluster]}" partner_td="${FEDERATION_TRUST_DOMAIN[${FEDERATION_PARTNER[$cluster]}]}"
    before="$(federation_authorities "$cluster" "$partner_td")"
    federation_cli "$partner" localauthority x509 prepare | sed 's/^/  /'
    federation_cli "$cluster" federation refresh -id "spiffe://$partner_td"
    after="$(federation_authorities "$cluster" "$partner_td")"
    if [[ "$after" -ne $((before + 1)) ]]; then
      sed 's/^/    /' "$FEDERATION_WORK/$cluster.bundles.txt"
      echo "FAIL: $cluster holds $after X.509 authorities of $partner_td after the refresh, $before before; expected the prepared one fetched"
      return 1
    fi
    echo "ok: $cluster holds the bundle of $partner_td; its X.509 authorities went from $before to $after with the refresh, the new one fetched from $partner's endpoint"
  done
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    echo "spire-server bundle list on $cluster:"
    grep '^\* ' "$FEDERATION_WORK/$cluster.bundles.txt" | sed 's/^/  /'
  done
}

# A copy of the first cluster's relationship with an endpoint SPIFFE ID its partner's endpoint
# does not present: the refresh must fail with SPIRE's own error. The synthesized relationship is
# put back after.
check_federation_wrong_endpoint_id() {
  local cluster="${FEDERATION_CLUSTERS[0]}"
  local partner_td="${FEDERATION_TRUST_DOMAIN[${FEDERATION_PARTNER[$cluster]}]}" out rc=0
  federation_lib wrong-endpoint-id "$FEDERATION_WORK/$cluster.relationship.json" "$FEDERATION_WORK/$cluster.wrong-id.json"
  federation_cli "$cluster" federation update -data "$FEDERATION_WORK/$cluster.wrong-id.json" >/dev/null
  out="$(federation_cli "$cluster" federation refresh -id "spiffe://$partner_td" 2>&1)" || rc=$?
  federation_cli "$cluster" federation update -data "$FEDERATION_WORK/$cluster.relationship.json" >/dev/null
  if [[ $rc -eq 0 ]]; then
    echo "FAIL: the refresh with a wrong endpoint SPIFFE ID succeeded: $out"
    return 1
  fi
  echo "ok: spire-server of $cluster refuses the endpoint of $partner_td: $out"
  federation_cli "$cluster" federation refresh -id "spiffe://$partner_td"
  echo "ok: with the synthesized endpoint SPIFFE ID back, the refresh succeeds again"
}

scenario_federation() {
  FEDERATION_WORK="$WORK/federation"
  synth_app federation
  mapfile -t FEDERATION_CLUSTERS < <(ls "$FEDERATION_WORK/dist")
  [[ ${#FEDERATION_CLUSTERS[@]} -eq 2 ]] || die "the federation example wrote ${#FEDERATION_CLUSTERS[@]} cluster folders, expected 2"
  FEDERATION_PARTNER=(["${FEDERATION_CLUSTERS[0]}"]="${FEDERATION_CLUSTERS[1]}" ["${FEDERATION_CLUSTERS[1]}"]="${FEDERATION_CLUSTERS[0]}")
  local cluster
  for cluster in "${FEDERATION_CLUSTERS[@]}"; do
    FEDERATION_TRUST_DOMAIN[$cluster]="$(federation_lib trust-domain "$FEDERATION_WORK/dist/$cluster")"
  done
  at_exit federation_stop_servers
  run_check "federation: both synthesized servers start with their bundle endpoints" federation_start_servers
  run_check "federation: each server fetches the other's bundle with its ClusterFederatedTrustDomain's values" check_federation_refresh
  run_check "federation: a wrong endpoint SPIFFE ID is refused by spire-server (must fail)" check_federation_wrong_endpoint_id
  federation_stop_servers
}
