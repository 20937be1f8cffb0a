# shellcheck shell=bash
# Scenario `ha`: two real spire-server processes run the synthesized high-availability config
# (conformance/apps/ha.ts: two replicas, PostgreSQL datastore, disk key manager) against a real
# PostgreSQL, with paths and ports remapped into a scratch directory on loopback. Sourced by
# conformance/run.sh, which provides WORK, run_check, synth_app and the tool locations.

HA_TRUST_DOMAIN=ha.test
HA_KEY_MANAGER_VARIANTS=(aws-kms gcp-kms azure-key-vault memory server-settings aws-rds)

scenario_ha() {
  HA_DIR="$WORK/ha"
  synth_app ha
  local variant
  for variant in "${HA_KEY_MANAGER_VARIANTS[@]}"; do ha_synth_variant "$variant"; done
  at_exit ha_stop_all

  run_check "ha: replicas, headless Service, disruption budget, spread, claims" ha_check_layout
  run_check "ha: the datastore's pool limits and read-only connection string are ha.ts's" ha_check_datastore_settings
  run_check "ha: kubectl-validate (Kubernetes $KUBERNETES_SCHEMA_VERSION)" ha_check_kubectl_validate
  run_check "ha: spire-server validate on every key manager, CA key type and subject" ha_check_validate
  run_check "ha: PostgreSQL runs" ha_start_postgres
  run_check "ha: two servers on one database are healthy" ha_check_two_servers
  run_check "ha: an entry created through one server is read through the other" ha_check_shared_entry
  run_check "ha: the trust bundle holds both servers' CA keys" ha_check_bundle
  run_check "ha: a restarted server keeps its CA key; one without its keys.json does not" ha_check_restart
  run_check "ha: a wrong connection string fails with SPIRE's own error" ha_check_wrong_connection_string
  run_check "ha: a wrong read-only connection string fails with SPIRE's own error" ha_check_wrong_ro_connection_string
  run_check "ha: a password with \" and \\, JSON-escaped in the Secret, reaches PostgreSQL; unescaped it stops the server" ha_check_escaped_connection_string
  run_check "ha: azure_key_vault with tenant_id passes validate but stops the server" ha_check_azure_tenant_id
  run_check "ha: the server-settings variant's authorization policy decides who may list entries" ha_check_authorization_policy

  ha_stop_all
}

ha_synth_variant() {
  local name="$1" out="$HA_DIR/$1/dist"
  mkdir -p "$out"
  echo "synth: ha $name (conformance/apps/ha.ts, key manager or datastore variant)"
  if ! (cd "$REPO_DIR" && node --require ./scripts/register-typescript.cjs conformance/apps/ha.ts "$out" "$name") >"$HA_DIR/$name/synth.log" 2>&1; then
    cat "$HA_DIR/$name/synth.log" >&2
    die "conformance app ha did not synthesize variant $name"
  fi
}

ha_lib() { node "$CONFORMANCE_DIR/lib/ha.js" "$@"; }

ha_check_layout() {
  local layout
  layout="$(ha_lib ha-layout "$HA_DIR/dist")"
  echo "seen: $layout"
  node -e '
    const l = JSON.parse(process.argv[1]);
    const problems = [];
    if (l.replicas !== 2) problems.push(`replicas ${l.replicas}, expected 2`);
    if (!l.headless) problems.push(`serviceName ${l.serviceName} is not a headless Service of the output`);
    const budget = l.budgets.length === 1 ? JSON.parse(l.budgets[0]) : {};
    if (budget.maxUnavailable !== 1 || budget.unhealthyPodEvictionPolicy !== "AlwaysAllow") problems.push(`PodDisruptionBudgets ${l.budgets}, expected one with maxUnavailable 1 that lets unready replicas be evicted`);
    if (l.spread.join() !== "kubernetes.io/hostname=ScheduleAnyway,topology.kubernetes.io/zone=ScheduleAnyway") problems.push(`spread ${l.spread}`);
    if (l.claims.join() !== "spire-data") problems.push(`claims ${l.claims}: the disk key manager needs the replica volume even with an external datastore`);
    if (problems.length) { console.log(`FAIL: ${problems.join("; ")}`); process.exit(1); }
  ' "$layout"
  echo "ok: 2 replicas governed by headless Service, one PodDisruptionBudget (unready replicas evictable), spread over nodes and zones as a preference, a claim per replica for the CA keys"
  local datastore
  datastore="$(ha_lib datastore "$HA_DIR/dist")"
  echo "ok: datastore $(json_field "$datastore" databaseType), connection string from \$$(json_field "$datastore" variable) set from a Secret"
  printf '%s' "$(json_field "$datastore" variable)" >"$HA_DIR/connection-string-variable"
  printf '%s' "$(json_field "$datastore" roVariable)" >"$HA_DIR/ro-connection-string-variable"
  printf '%s' "$datastore" >"$HA_DIR/datastore.json"
}

# conformance/apps/ha.ts sets 15 open and 5 idle connections, a 10m lifetime and a read-only
# connection string from the Secret key ro-connection-string.
ha_check_datastore_settings() {
  [[ -f "$HA_DIR/datastore.json" ]] || { echo "FAIL: the datastore was not read"; return 1; }
  echo "seen: $(cat "$HA_DIR/datastore.json")"
  node -e '
    const d = JSON.parse(process.argv[1]);
    const problems = [];
    const pool = JSON.stringify(d.pool);
    if (pool !== JSON.stringify({ max_open_conns: 15, max_idle_conns: 5, conn_max_lifetime: "10m" })) problems.push(`pool ${pool}, expected 15 open, 5 idle, 10m`);
    if (!d.roVariable || !d.roSecret || d.roSecret.key !== "ro-connection-string") problems.push(`ro_connection_string from ${JSON.stringify(d.roSecret)}, expected the Secret key ro-connection-string`);
    if (problems.length) { console.log(`FAIL: ${problems.join("; ")}`); process.exit(1); }
  ' "$(cat "$HA_DIR/datastore.json")"
  echo "ok: max_open_conns 15, max_idle_conns 5, conn_max_lifetime 10m; ro_connection_string from \$$(cat "$HA_DIR/ro-connection-string-variable") set from the Secret key ro-connection-string"
}

ha_check_kubectl_validate() {
  local dir crds="$HA_DIR/crds" files=()
  for dir in "$HA_DIR/dist" "${HA_KEY_MANAGER_VARIANTS[@]/#/$HA_DIR/}"; do
    [[ "$dir" == "$HA_DIR/dist" ]] || dir="$dir/dist"
    node "$CONFORMANCE_DIR/lib/extract.js" crds "$dir" "$crds" >/dev/null
    files+=("$dir"/*.k8s.yaml)
  done
  "$(kubectl_validate_bin)" "${files[@]}" --local-crds "$crds" --version "$KUBERNETES_SCHEMA_VERSION" 2>&1 | sed 's/^/  /'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "FAIL: kubectl-validate reported errors"; return 1; }
  echo "ok: ${#files[@]} files valid, PodDisruptionBudget and topologySpreadConstraints included"
}

# The synthesized configs as they are, then copies with one deliberate mistake each, which SPIRE
# must reject: they prove that validate looks at the value.
ha_check_validate() {
  local bin failed=0 name v="$HA_DIR/validate"
  bin="$(spire_server_bin)"
  mkdir -p "$v"
  for name in disk "${HA_KEY_MANAGER_VARIANTS[@]}"; do
    local dist="$HA_DIR/$name/dist"
    [[ "$name" == disk ]] && dist="$HA_DIR/dist"
    node "$CONFORMANCE_DIR/lib/extract.js" spire-configs "$dist" "$v/$name" >/dev/null
    cp "$v/$name/server.conf" "$v/$name.server.conf"
    echo "  $name: KeyManager $(node -e 'const c = JSON.parse(process.argv[1]); console.log(JSON.stringify(c.plugins.KeyManager), JSON.stringify({ ca_key_type: c.server.ca_key_type, ca_subject: c.server.ca_subject }))' "$(cat "$v/$name.server.conf")")"
    spire_validate server "$bin" "$v/$name.server.conf" valid || failed=1
  done
  # Every value of the CaKeyType enum, not only the ones the variants use.
  local key_type
  for key_type in $(ha_ca_key_types); do
    ha_changed_copy disk "key-type-$key_type" "c.server.ca_key_type = '$key_type'"
    spire_validate server "$bin" "$v/key-type-$key_type.server.conf" valid || failed=1
  done
  ha_broken_copy aws-kms no-region 'delete c.plugins.KeyManager[0].aws_kms.plugin_data.region'
  ha_expect_rejected no-region 'configuration is missing a region' || failed=1
  ha_broken_copy aws-kms reserved-tag 'c.plugins.KeyManager[0].aws_kms.plugin_data.key_tags = { "aws:team": "identity" }'
  ha_expect_rejected reserved-tag "uses reserved prefix 'aws:'" || failed=1
  ha_broken_copy aws-kms spire-tag 'c.plugins.KeyManager[0].aws_kms.plugin_data.key_tags = { "spire-team": "identity" }'
  ha_expect_rejected spire-tag "uses reserved prefix 'spire-'" || failed=1
  ha_broken_copy aws-kms long-tag-key 'c.plugins.KeyManager[0].aws_kms.plugin_data.key_tags = { ["k".repeat(129)]: "identity" }'
  ha_expect_rejected long-tag-key 'exceeds maximum length of 128 characters' || failed=1
  ha_broken_copy gcp-kms no-key-ring 'delete c.plugins.KeyManager[0].gcp_kms.plugin_data.key_ring'
  ha_expect_rejected no-key-ring 'configuration is missing the key ring' || failed=1
  ha_broken_copy azure-key-vault no-vault-uri 'delete c.plugins.KeyManager[0].azure_key_vault.plugin_data.key_vault_uri'
  ha_expect_rejected no-vault-uri 'configuration is missing the Key Vault URI' || failed=1
  ha_broken_copy aws-rds unknown-rds-type 'const d = c.plugins.DataStore[0].sql.plugin_data; d.database_type = { aws_oracle: d.database_type.aws_postgres }'
  ha_expect_rejected unknown-rds-type 'unknown database type: aws_oracle' || failed=1
  ha_broken_copy gcp-kms bad-refresh-hint 'c.server.federation.bundle_endpoint.refresh_hint = "1d"'
  ha_expect_rejected bad-refresh-hint 'could not parse refresh_hint' || failed=1
  ha_broken_copy disk unknown-key-type 'c.server.ca_key_type = "ec-p521"'
  ha_expect_rejected unknown-key-type 'key type "ec-p521" is unknown' || failed=1
  ha_broken_copy disk misspelled-subject-key 'c.server.ca_subject.organisation = c.server.ca_subject.organization; delete c.server.ca_subject.organization'
  ha_expect_rejected misspelled-subject-key 'unknown configuration detected' || failed=1
  return $failed
}

ha_ca_key_types() {
  (cd "$REPO_DIR" && node --require ./scripts/register-typescript.cjs -e \
    "console.log(Object.values(require('./lib/config/key-manager').CaKeyType).join(' '))")
}

# ha_expect_rejected NAME TEXT: validate must reject broken-NAME.server.conf, for the reason TEXT.
ha_expect_rejected() {
  local config="$HA_DIR/validate/broken-$1.server.conf" out rc=0
  out="$("$(spire_server_bin)" validate -config "$config" 2>&1)" || rc=$?
  if [[ $rc -ne 0 && "$out" == *"$2"* ]]; then
    echo "ok: spire-server validate rejects $(basename "$config"): $(grep -F -- "$2" <<<"$out" | sed 's/^[[:space:]]*//')"
  else
    echo "FAIL: spire-server validate on $(basename "$config") exited $rc, expected a rejection saying: $2"
    sed 's/^/    /' <<<"$out"
    return 1
  fi
}

# ha_changed_copy VARIANT NAME JS: NAME.server.conf, a copy of the variant's server.conf changed by
# JS (on `c`).
ha_changed_copy() {
  node -e '
    const fs = require("fs");
    const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    eval(process.argv[3]);
    fs.writeFileSync(process.argv[2], JSON.stringify(c, null, 2));
  ' "$HA_DIR/validate/$1.server.conf" "$HA_DIR/validate/$2.server.conf" "$3"
}

ha_broken_copy() { ha_changed_copy "$1" "broken-$2" "$3"; }

# The database cluster lives in the scratch directory, listening on loopback only.
ha_start_postgres() {
  install_postgres "$HA_DIR/apt.log" || return 1
  local pg="$HA_DIR/postgres" port
  port="$(free_ports 1)"
  # The postgres user must reach its directories inside the suite's private scratch directory.
  chmod a+x "$WORK" "$HA_DIR"
  init_postgres "$pg" && start_postgres "$pg" 127.0.0.1 "$port" || return 1
  postgres_bin >"$HA_DIR/postgres-bin"
  create_spire_database 127.0.0.1 "$port"
  echo "host=127.0.0.1 port=$port user=postgres dbname=spire sslmode=disable" >"$HA_DIR/connection-string"
  echo "ok: $("$(postgres_bin)/postgres" --version) on 127.0.0.1:$port, database spire created"
}

# ha_start_server NAME [CONNECTION_STRING_FILE [RO_CONNECTION_STRING_FILE]]: a server from its
# remapped copy, with the container's own args after `run` and each connection string variable the
# config reads set as its Secret would set it (the read-only one to the main string unless given).
ha_start_server() {
  local name="$1" dir="$HA_DIR/servers/$1" main="${2:-$HA_DIR/connection-string}" args env
  mapfile -t args <"$dir/args"
  env=("$(cat "$HA_DIR/connection-string-variable")=$(cat "$main")")
  [[ -s "$HA_DIR/ro-connection-string-variable" ]] && env+=("$(cat "$HA_DIR/ro-connection-string-variable")=$(cat "${3:-$main}")")
  env "${env[@]}" "$(spire_server_bin)" run "${args[@]}" >>"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
}

ha_ready() {
  local dir="$HA_DIR/servers/$1"
  "$(spire_server_bin)" healthcheck -socketPath "$(cat "$dir/socket_path")" && curl -fsS "http://127.0.0.1:$(cat "$dir/health_port")/ready"
}

# ha_wait_healthy NAME: up to 90 s for `healthcheck` over the server's API socket and its /ready.
ha_wait_healthy() {
  local dir="$HA_DIR/servers/$1"
  wait_for_process "server $1 healthy (healthcheck over its API socket, /ready on port $(cat "$dir/health_port"))" 90 \
    "$(cat "$dir/pid")" "$dir/log" ha_ready "$1"
}

ha_stop_server() {
  local pid_file="$HA_DIR/servers/$1/pid" pid
  [[ -f "$pid_file" ]] || return 0
  pid="$(cat "$pid_file")"
  rm -f "$pid_file"
  stop_process "$pid"
}

ha_stop_all() {
  local dir
  for dir in "$HA_DIR"/servers/*/; do [[ -d "$dir" ]] && ha_stop_server "$(basename "$dir")"; done
  stop_postgres "$HA_DIR/postgres" || true
}

# ha_copy NAME: the remapped copy of the synthesized server, on its own free ports.
ha_copy() {
  local dir="$HA_DIR/servers/$1" ports
  mkdir -p "$dir"
  read -r -a ports <<<"$(free_ports 3)"
  echo "server $1, remapped:"
  ha_lib server-copy "$HA_DIR/dist" "$dir" "${ports[0]}" "${ports[1]}" "${ports[2]}" "$HA_DIR/kubeconfig"
  echo "${ports[1]}" >"$dir/health_port"
}

# As the StatefulSet's OrderedReady policy does, the second replica starts once the first is
# ready, so only one of them creates the database schema.
ha_check_two_servers() {
  [[ -f "$HA_DIR/connection-string" ]] || { echo "FAIL: no database"; return 1; }
  write_unreachable_kubeconfig "$HA_DIR/kubeconfig"
  ha_copy a
  ha_copy b
  ha_start_server a
  ha_wait_healthy a
  ha_start_server b
  ha_wait_healthy b
}

ha_socket() { cat "$HA_DIR/servers/$1/socket_path"; }

ha_check_shared_entry() {
  local bin out id
  bin="$(spire_server_bin)"
  out="$("$bin" entry create -socketPath "$(ha_socket a)" -parentID "spiffe://$HA_TRUST_DOMAIN/conformance/parent" \
    -spiffeID "spiffe://$HA_TRUST_DOMAIN/conformance/shared" -selector unix:uid:4242 2>&1)"
  id="$(awk '/^Entry ID/ { print $NF; exit }' <<<"$out")"
  [[ -n "$id" ]] || { echo "FAIL: entry create through server a printed no Entry ID:"; sed 's/^/    /' <<<"$out"; return 1; }
  echo "ok: entry $id created through server a"
  out="$("$bin" entry show -socketPath "$(ha_socket b)" -entryID "$id" 2>&1)"
  sed 's/^/    b: /' <<<"$out"
  grep -q "SPIFFE ID *: spiffe://$HA_TRUST_DOMAIN/conformance/shared" <<<"$out" ||
    { echo "FAIL: server b does not show entry $id"; return 1; }
  echo "ok: server b shows entry $id with SPIFFE ID spiffe://$HA_TRUST_DOMAIN/conformance/shared"
}

# The public key of each server's current CA key (from its disk key manager's keys.json) must be
# an X.509 authority of the bundle both servers serve. Each server adds its key to the shared
# bundle when it prepares it; the other sees it at its next cache refresh, so this waits a while.
ha_server_keys() { ha_lib disk-key-fingerprints "$HA_DIR/servers/$1/data/keys.json" | awk -F'\t' '$1 ~ /^x509-CA-/ { print $2 }' | sort; }

ha_bundle_keys() {
  "$(spire_server_bin)" bundle show -socketPath "$(ha_socket "$1")" -format spiffe >"$HA_DIR/bundle-$1.json" 2>&1 || { cat "$HA_DIR/bundle-$1.json"; return 1; }
  ha_lib bundle-authorities "$HA_DIR/bundle-$1.json" | sort
}

ha_missing_keys() {
  local bundle
  bundle="$(ha_bundle_keys "$1")" || return 2
  comm -23 <(sort "$HA_DIR"/servers/{a,b}/x509-keys) <(echo "$bundle")
}

ha_check_bundle() {
  local name
  for name in a b; do
    ha_server_keys "$name" >"$HA_DIR/servers/$name/x509-keys"
    [[ -s "$HA_DIR/servers/$name/x509-keys" ]] || { echo "FAIL: server $name's keys.json holds no X.509 CA key"; return 1; }
    echo "server $name X.509 CA keys (keys.json, public key SHA-256 prefix): $(tr '\n' ' ' <"$HA_DIR/servers/$name/x509-keys")"
  done
  if cmp -s "$HA_DIR/servers/a/x509-keys" "$HA_DIR/servers/b/x509-keys"; then
    echo "FAIL: both servers hold the same CA key"
    return 1
  fi
  local i missing
  for name in a b; do
    for ((i = 0; i < 30; i++)); do
      missing="$(ha_missing_keys "$name")" || return 1
      [[ -z "$missing" ]] && break
      sleep 1
    done
    echo "bundle served by $name: $(ha_bundle_keys "$name" | tr '\n' ' ')"
    [[ -z "$missing" ]] || { echo "FAIL: the bundle served by $name lacks the CA keys $missing"; return 1; }
    echo "ok: the bundle served by $name holds the CA keys of both servers"
  done
  ha_bundle_keys a >"$HA_DIR/bundle-before-restart"
  local authority
  authority="$(openssl x509 -noout -subject -text -in <(ha_first_authority_pem a) 2>/dev/null | grep -E 'subject=|ASN1 OID' | tr -s ' ' | tr '\n' ' ')"
  echo "ok: a CA certificate of the bundle: $authority"
}

ha_first_authority_pem() {
  "$(spire_server_bin)" bundle show -socketPath "$(ha_socket "$1")" -format pem | awk '/BEGIN/ { n++ } n == 1'
}

ha_check_restart() {
  [[ -f "$HA_DIR/bundle-before-restart" ]] || { echo "FAIL: no bundle from before the restart"; return 1; }
  local keys_file="$HA_DIR/servers/a/data/keys.json" before after
  before="$(sha256sum "$keys_file" | cut -c1-16)"
  ha_stop_server a
  echo "server a stopped; keys.json sha256 $before"
  ha_start_server a
  ha_wait_healthy a
  after="$(sha256sum "$keys_file" | cut -c1-16)"
  [[ "$before" == "$after" ]] || { echo "FAIL: keys.json changed across the restart: $before -> $after"; return 1; }
  echo "ok: keys.json unchanged across the restart ($after)"
  ha_server_keys a | cmp -s - "$HA_DIR/servers/a/x509-keys" || { echo "FAIL: server a's X.509 CA keys changed: $(ha_server_keys a | tr '\n' ' ')"; return 1; }
  sleep 2
  local bundle
  bundle="$(ha_bundle_keys b)"
  echo "bundle served by b after the restart: $(tr '\n' ' ' <<<"$bundle")"
  [[ "$bundle" == "$(cat "$HA_DIR/bundle-before-restart")" ]] ||
    { echo "FAIL: the bundle changed across the restart (before: $(tr '\n' ' ' <"$HA_DIR/bundle-before-restart"))"; return 1; }
  echo "ok: no new authority in the bundle: $(wc -l <<<"$bundle") X.509 authorities before and after"
  ha_check_restart_without_keys
}

# The must-fail counterpart: server b restarted without its keys.json, as on the emptyDir the data
# directory was with an external datastore, makes a new CA key that the bundle gains.
ha_check_restart_without_keys() {
  ha_stop_server b
  mv "$HA_DIR/servers/b/data/keys.json" "$HA_DIR/servers/b/keys.json.removed"
  ha_start_server b
  ha_wait_healthy b
  local bundle i
  for ((i = 0; i < 30; i++)); do
    bundle="$(ha_bundle_keys a)"
    [[ "$bundle" != "$(cat "$HA_DIR/bundle-before-restart")" ]] && break
    sleep 1
  done
  echo "bundle served by a after b restarted without keys.json: $(tr '\n' ' ' <<<"$bundle")"
  [[ "$(wc -l <<<"$bundle")" -gt "$(wc -l <"$HA_DIR/bundle-before-restart")" ]] ||
    { echo "FAIL: losing keys.json did not add an authority, so the check above could not see a lost key"; return 1; }
  echo "ok: without its keys.json server b made CA key $(ha_server_keys b | tr '\n' ' ')and the bundle grew to $(wc -l <<<"$bundle") authorities"
}

# A copy of server b with a connection string naming a database that does not exist must stop
# with the error SPIRE's sql datastore reports.
ha_check_wrong_connection_string() {
  [[ -f "$HA_DIR/connection-string" ]] || { echo "FAIL: no database"; return 1; }
  ha_copy wrong >/dev/null
  sed 's/dbname=spire/dbname=spire_missing/' "$HA_DIR/connection-string" >"$HA_DIR/wrong-connection-string"
  echo "connection string of the copy: $(cat "$HA_DIR/wrong-connection-string")"
  ha_start_server wrong "$HA_DIR/wrong-connection-string"
  ha_expect_exit wrong 'database \"spire_missing\" does not exist' || return 1
  echo "ok: the wrong connection string fails at start with SPIRE's own error"
}

# A copy of server b whose read-only connection string names a database that does not exist must
# stop with the error SPIRE's sql datastore reports: the server opens that connection at start.
ha_check_wrong_ro_connection_string() {
  [[ -f "$HA_DIR/wrong-connection-string" ]] || { echo "FAIL: no wrong connection string"; return 1; }
  [[ -s "$HA_DIR/ro-connection-string-variable" ]] || { echo "FAIL: the config reads no read-only connection string"; return 1; }
  ha_copy wrong-ro >/dev/null
  echo "read-only connection string of the copy: $(cat "$HA_DIR/wrong-connection-string")"
  ha_start_server wrong-ro "$HA_DIR/connection-string" "$HA_DIR/wrong-connection-string"
  ha_expect_exit wrong-ro 'database \"spire_missing\" does not exist' || return 1
  echo "ok: the wrong read-only connection string fails at start with SPIRE's own error"
}

# SPIRE pastes the Secret's value into the JSON of server.conf before parsing it, so the README
# has the Secret hold the connection string JSON-escaped. A role whose password holds " and \
# (and $), with password authentication, and a database of its own: escaped, a server copy
# connects with it; unescaped, the config no longer parses and the server stops.
HA_QUOTED_PASSWORD='p"w\d$x'
ha_check_escaped_connection_string() {
  [[ -f "$HA_DIR/postgres-bin" ]] || { echo "FAIL: no database"; return 1; }
  local bin port data="$HA_DIR/postgres/data"
  bin="$(cat "$HA_DIR/postgres-bin")"
  port="$(sed 's/.*port=\([0-9]*\).*/\1/' "$HA_DIR/connection-string")"
  # psql quotes the variable as an SQL literal; it interpolates only what it reads, not -c.
  printf '%s\n' "CREATE ROLE spire_quoted LOGIN PASSWORD :'password';" 'CREATE DATABASE spire_quoted OWNER spire_quoted;' |
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q -v password="$HA_QUOTED_PASSWORD" >/dev/null || return 1
  as_postgres sh -c "{ echo 'host all spire_quoted 127.0.0.1/32 scram-sha-256'; cat '$data/pg_hba.conf'; } > '$data/pg_hba.conf.new' && mv '$data/pg_hba.conf.new' '$data/pg_hba.conf'"
  as_postgres "$bin/pg_ctl" -D "$data" reload >/dev/null || return 1
  # lib/pq's key=value form quotes the value and escapes \ in it.
  local connection="host=127.0.0.1 port=$port user=spire_quoted password='${HA_QUOTED_PASSWORD//\\/\\\\}' dbname=spire_quoted sslmode=disable"
  printf '%s' "$connection" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8")).slice(1, -1))' >"$HA_DIR/quoted-connection-string"
  printf '%s' "$connection" >"$HA_DIR/raw-connection-string"
  if PGPASSWORD=wrong "$bin/psql" -h 127.0.0.1 -p "$port" -U spire_quoted -d spire_quoted -w -c 'SELECT 1' >/dev/null 2>&1; then
    echo "FAIL: PostgreSQL lets spire_quoted in with a wrong password, so a connection would prove nothing"
    return 1
  fi
  echo "connection string: $connection"
  echo "in the Secret:     $(cat "$HA_DIR/quoted-connection-string")"
  ha_copy quoted >/dev/null
  ha_start_server quoted "$HA_DIR/quoted-connection-string"
  ha_wait_healthy quoted || return 1
  ha_stop_server quoted
  echo "ok: the server connected as spire_quoted with the password $HA_QUOTED_PASSWORD"
  ha_copy raw >/dev/null
  ha_start_server raw "$HA_DIR/raw-connection-string"
  ha_expect_exit raw 'unable to decode configuration' || return 1
  echo "ok: the unescaped connection string stops the server before it connects"
}

# Why KeyManager.azureKeyVault offers no tenant: SPIRE's tenant_id switches the plugin to a client
# secret, which validate does not look at, and the server stops at startup. The synthesized
# azure_key_vault block plus tenant_id, in a server copy that can otherwise start.
ha_check_azure_tenant_id() {
  [[ -f "$HA_DIR/connection-string" ]] || { echo "FAIL: no database"; return 1; }
  local dir="$HA_DIR/servers/azure-tenant"
  ha_copy azure-tenant >/dev/null
  node -e '
    const fs = require("fs"), path = require("path");
    const [file, azureFile] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(file, "utf8"));
    const data = JSON.parse(fs.readFileSync(azureFile, "utf8")).plugins.KeyManager[0].azure_key_vault.plugin_data;
    const dataDir = path.dirname(c.plugins.KeyManager[0].disk.plugin_data.keys_path);
    c.plugins.KeyManager = [{ azure_key_vault: { plugin_data: { ...data, key_identifier_file: path.join(dataDir, path.basename(data.key_identifier_file)), tenant_id: "conformance-tenant" } } }];
    fs.writeFileSync(file, JSON.stringify(c, null, 2));
  ' "$dir/server.conf" "$HA_DIR/validate/azure-key-vault.server.conf"
  echo "  KeyManager of the copy: $(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).plugins.KeyManager))' "$dir/server.conf")"
  spire_validate server "$(spire_server_bin)" "$dir/server.conf" valid || return 1
  ha_start_server azure-tenant
  ha_expect_exit azure-tenant 'missing subscription id' || return 1
  echo "ok: with tenant_id the server stops at startup although validate accepts the file"
}

# The server-settings variant's experimental block runs: a server copy given it, with the policy
# files from the variant's ConfigMap, lets local callers list entries as the policy data says; the
# same policy with data that denies local callers refuses them, which proves SPIRE reads both files.
# The policy lets anyone fetch the bundle: the server's own readiness check does, as a local caller.
ha_check_authorization_policy() {
  [[ -f "$HA_DIR/connection-string" ]] || { echo "FAIL: no database"; return 1; }
  local name dir out
  for name in authz-allowed authz-denied; do
    dir="$HA_DIR/servers/$name"
    ha_copy "$name" >/dev/null
    node -e '
      const fs = require("fs"), path = require("path");
      const { loadDir, configMapWith } = require(process.argv[1]);
      const [, dir, dist, name] = process.argv.slice(1);
      const data = configMapWith(loadDir(dist), "server.conf").obj.data;
      const experimental = JSON.parse(data["server.conf"]).server.experimental;
      const local = experimental.auth_opa_policy_engine.local;
      const policyData = JSON.parse(data[path.basename(local.policy_data_path)]);
      if (name === "authz-denied") policyData.allow_local = false;
      local.rego_path = path.join(dir, path.basename(local.rego_path));
      local.policy_data_path = path.join(dir, path.basename(local.policy_data_path));
      fs.writeFileSync(local.rego_path, data[path.basename(local.rego_path)]);
      fs.writeFileSync(local.policy_data_path, JSON.stringify(policyData));
      const file = path.join(dir, "server.conf");
      const c = JSON.parse(fs.readFileSync(file, "utf8"));
      c.server.experimental = experimental;
      fs.writeFileSync(file, JSON.stringify(c, null, 2));
    ' "$CONFORMANCE_DIR/lib/manifests.js" "$dir" "$HA_DIR/server-settings/dist" "$name" || return 1
    ha_start_server "$name"
    wait_for_process "server $name ready" 90 "$(cat "$dir/pid")" "$dir/log" curl -fsS "http://127.0.0.1:$(cat "$dir/health_port")/ready" || return 1
  done
  out="$("$(spire_server_bin)" entry show -socketPath "$(ha_socket authz-allowed)" 2>&1)" ||
    { echo "FAIL: the policy's data allows local callers, but entry show failed:"; sed 's/^/    /' <<<"$out"; return 1; }
  echo "ok: authz-allowed lists entries for a local caller ($(grep -c '^Entry ID' <<<"$out") entries)"
  out="$("$(spire_server_bin)" entry show -socketPath "$(ha_socket authz-denied)" 2>&1)" &&
    { echo "FAIL: the policy's data denies local callers, but entry show succeeded"; return 1; }
  grep -q 'PermissionDenied' <<<"$out" || { echo "FAIL: expected PermissionDenied:"; sed 's/^/    /' <<<"$out"; return 1; }
  echo "ok: authz-denied refuses a local caller: $(grep -o 'PermissionDenied.*' <<<"$out")"
  ha_stop_server authz-allowed
  ha_stop_server authz-denied
}

# ha_expect_exit NAME TEXT: the server must exit non-zero within 30 s, logging an error with TEXT.
ha_expect_exit() {
  local dir="$HA_DIR/servers/$1" pid i rc error
  pid="$(cat "$dir/pid")"
  for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: server $1 still runs after 30 s"
    return 1
  fi
  wait "$pid" && rc=0 || rc=$?
  rm -f "$dir/pid"
  error="$(grep -m1 -F -- "$2" "$dir/log" || true)"
  echo "spire-server exited $rc: $error"
  [[ $rc -ne 0 && -n "$error" ]] ||
    { echo "FAIL: expected a non-zero exit with an error saying: $2; log:"; sed 's/^/    /' "$dir/log"; return 1; }
}
