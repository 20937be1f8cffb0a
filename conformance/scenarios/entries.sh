# shellcheck shell=bash
# Entries made by hand beside the controller manager's: a real spire-server on the server config
# conformance/apps/entries.ts synthesizes (remapped with ha.js server-copy), and
# spire-controller-manager's own entry reconciler (`entrygc`, from its module at the pinned
# version) run with the output's ControllerManagerConfig (entry ID prefix, gcInterval of 1s) and
# ClusterStaticEntry. An entry made with `spire-server entry create` must outlive several GC
# intervals while the controller manager creates its own entry under its prefix. Must fail: the
# same reconciler without the prefix deletes the hand-made entry within those intervals.

entries_lib() { node "$CONFORMANCE_DIR/lib/ha.js" "$@"; }
entries_cli() { "$(spire_server_bin)" "$@" -socketPath "$(cat "$ENTRIES_DIR/server/socket_path")"; }

entries_stop_server() {
  local pid_file="$ENTRIES_DIR/server/pid"
  [[ -f "$pid_file" ]] || return 0
  stop_process "$(cat "$pid_file")"
  rm -f "$pid_file"
}

entries_start_server() {
  local dir="$ENTRIES_DIR/server" ports args
  mkdir -p "$dir"
  read -r -a ports <<<"$(free_ports 3)"
  write_unreachable_kubeconfig "$ENTRIES_DIR/kubeconfig"
  echo "server, remapped:"
  entries_lib server-copy "$ENTRIES_DIR/dist" "$dir" "${ports[0]}" "${ports[1]}" "${ports[2]}" "$ENTRIES_DIR/kubeconfig"
  mapfile -t args <"$dir/args"
  "$(spire_server_bin)" run "${args[@]}" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for_process "spire-server healthy" 60 "$(cat "$dir/pid")" "$dir/log" entries_cli healthcheck
}

# entries_ids: "<entry ID> <SPIFFE ID>" of every entry the server holds, one a line.
entries_ids() {
  entries_cli entry show -output json |
    node -e 'for (const e of JSON.parse(require("fs").readFileSync(0, "utf8")).entries || []) console.log(e.id, `spiffe://${e.spiffe_id.trust_domain}${e.spiffe_id.path}`)'
}

entries_by_hand() {
  entries_cli entry create -parentID spiffe://entries.test/conformance/node -spiffeID "spiffe://entries.test/conformance/$1" \
    -selector "unix:uid:$(id -u)" -output json |
    node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).results[0].entry.id)'
}

# entries_reconcile SECONDS [-drop-prefix]: the controller manager's entry reconciler, for that long.
entries_reconcile() {
  "$(entrygc_bin)" -manifests "$ENTRIES_DIR/dist" -socket "$(cat "$ENTRIES_DIR/server/socket_path")" -for "$1s" "${@:2}" \
    >>"$ENTRIES_DIR/entrygc.log" 2>&1 || { tail -n 20 "$ENTRIES_DIR/entrygc.log" | sed 's/^/    /'; return 1; }
  grep '^reconciling' "$ENTRIES_DIR/entrygc.log" | tail -n 1 | sed 's/^/  /'
}

check_entries_kept() {
  local id ids
  id="$(entries_by_hand by-hand)"
  echo "made by hand: entry $id"
  entries_reconcile 5 || return 1
  ids="$(entries_ids)"
  echo "$ids" | sed 's/^/  /'
  if ! grep -q "^$id " <<<"$ids"; then
    echo "FAIL: the entry made by hand ($id) is gone after 5 GC intervals"
    return 1
  fi
  if ! grep -qE '^entries-cluster\.[0-9a-f-]{36} spiffe://entries.test/conformance/static$' <<<"$ids"; then
    echo "FAIL: the controller manager made no entry under its prefix entries-cluster. (the app's cluster name) for its ClusterStaticEntry"
    return 1
  fi
  echo "ok: the entry made by hand outlived 5 GC intervals of 1s; the ClusterStaticEntry's entry carries the prefix"
}

check_entries_deleted_without_prefix() {
  local id ids
  id="$(entries_by_hand unprotected)"
  echo "made by hand: entry $id"
  entries_reconcile 3 -drop-prefix || return 1
  ids="$(entries_ids)"
  if grep -q "^$id " <<<"$ids"; then
    echo "FAIL: without the prefix the reconciler kept the entry made by hand ($id)"
    return 1
  fi
  echo "ok: without entryIDPrefix the controller manager's reconciler deleted the entry made by hand ($id) within 3 GC intervals"
}

scenario_entries() {
  ENTRIES_DIR="$WORK/entries"
  synth_app entries
  at_exit entries_stop_server
  run_check "entries: the synthesized server starts" entries_start_server
  run_check "entries: an entry made by hand outlives the controller manager's GC with the output's entryIDPrefix" check_entries_kept
  run_check "entries: without entryIDPrefix the controller manager deletes it (must fail)" check_entries_deleted_without_prefix
  entries_stop_server
}
