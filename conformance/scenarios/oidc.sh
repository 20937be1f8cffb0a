# shellcheck shell=bash
# JWT-SVIDs and OIDC discovery on real processes: the server, agent and OIDC Discovery Provider
# configs that conformance/apps/oidc.ts synthesizes, remapped to loopback (conformance/lib/oidc.js
# says what it changes), run together. The provider must serve a discovery document naming the
# server's jwt_issuer and, at /keys, the key that signed a JWT-SVID the agent issued with that
# issuer and the configured lifetime, with "use": "sig" as set_key_use asks; the second provider,
# reading the keys from a bundle file where its ConfigMap is mounted, must serve that key without a
# use. The agent runs with the app's SDS name, cache size, availability target, JSON logs and
# experimental settings. Must-fail copies: a broken default_jwt_svid_ttl
# (spire-server validate), an availability target below 24h (spire-agent validate), a jwt_issuer
# without a scheme (the provider itself), a request for a host outside the provider's domains.

# Every process oidc_start began, by its pid file: a check runs in a subshell, so a pid kept in a
# variable there would be lost and the process left running.
oidc_stop_processes() {
  local file
  for file in "$OIDC_RUN"/*.pid; do
    [[ -f "$file" ]] || continue
    stop_process "$(cat "$file")"
    rm -f "$file"
  done
}

# oidc_start NAME COMMAND...: runs a process in the background, logging to $OIDC_RUN/NAME.log.
oidc_start() {
  local name="$1"
  shift
  "$@" >"$OIDC_RUN/$name.log" 2>&1 &
  echo $! >"$OIDC_RUN/$name.pid"
  echo "started $name (pid $!)"
}

oidc_fact() { json_field "$(tail -n 1 "$OIDC_RUN/prepare.out")" "$1"; }

# oidc_wait PROCESS WHAT COMMAND...: up to 60 s for COMMAND, while the process oidc_start named
# PROCESS runs.
oidc_wait() {
  local name="$1" what="$2"
  shift 2
  wait_for_process "$what" 60 "$(cat "$OIDC_RUN/$name.pid")" "$OIDC_RUN/$name.log" "$@"
}

oidc_prepare() {
  node_lib oidc.js prepare "$WORK/oidc/dist" "$OIDC_RUN" | tee "$OIDC_RUN/prepare.out"
}

oidc_validate_server() {
  spire_validate server "$(spire_server_bin)" "$OIDC_RUN/server.conf" valid
  echo "server.conf sets default_jwt_svid_ttl $(oidc_fact jwtSvidTtl) and jwt_issuer $(oidc_fact jwtIssuer)"
  spire_validate server "$(spire_server_bin)" "$OIDC_RUN/broken-jwt-svid-ttl-server.conf" invalid
}

oidc_server_up() {
  oidc_wait spire-server "spire-server healthy" "$(spire_server_bin)" healthcheck -socketPath "$(oidc_fact serverSocket)"
  local td
  td="$(oidc_fact trustDomain)"
  "$(spire_server_bin)" token generate -socketPath "$(oidc_fact serverSocket)" -spiffeID "spiffe://$td/conformance/oidc-node" -output json |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).value)' >"$OIDC_RUN/join-token"
  echo "ok: join token for spiffe://$td/conformance/oidc-node"
}

oidc_register_provider() {
  oidc_wait spire-agent "spire-agent attested and healthy" "$(spire_agent_bin)" healthcheck -socketPath "$(oidc_fact agentSocket)"
  local td
  td="$(oidc_fact trustDomain)"
  # The unix attestor stands in for the k8s one: the entry selects this user instead of the pod.
  "$(spire_server_bin)" entry create -socketPath "$(oidc_fact serverSocket)" -parentID "spiffe://$td/conformance/oidc-node" \
    -spiffeID "$(oidc_fact providerId)" -selector "unix:uid:$(id -u)" | grep -E 'Entry ID|SPIFFE ID'
  oidc_wait spire-agent "the agent issues JWT-SVIDs for $(oidc_fact providerId)" \
    "$(spire_agent_bin)" api fetch jwt -audience conformance -socketPath "$(oidc_fact agentSocket)"
}

oidc_url() { echo "http://$(oidc_fact oidcAddress)$(oidc_fact prefix)$1"; }

oidc_get() {
  curl -fsS -H "Host: $(oidc_fact domain)" -o "$2" "$(oidc_url "$1")"
}

oidc_discovery() {
  oidc_wait oidc-discovery-provider "the provider serves keys" oidc_get /keys "$OIDC_RUN/keys.json"
  oidc_get /.well-known/openid-configuration "$OIDC_RUN/discovery.json"
  echo "GET $(oidc_url /.well-known/openid-configuration) (Host: $(oidc_fact domain))"
  node_lib oidc.js discovery "$OIDC_RUN/discovery.json" "$(oidc_fact jwtIssuer)"
}

oidc_jwt_svid() {
  oidc_get /keys "$OIDC_RUN/keys.json"
  "$(spire_agent_bin)" api fetch jwt -audience sts.amazonaws.com -socketPath "$(oidc_fact agentSocket)" -output json >"$OIDC_RUN/jwt-svid.json"
  node_lib oidc.js jwt-svid "$OIDC_RUN/jwt-svid.json" "$OIDC_RUN/keys.json" "$(oidc_fact jwtIssuer)" "$(oidc_fact jwtSvidTtl)" "$(oidc_fact keyUse)"
}

oidc_validate_agent() {
  local agent="$OIDC_RUN/agent.conf"
  echo "agent.conf sets $(node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).agent; console.log(JSON.stringify({ sds: a.sds, x509_svid_cache_max_size: a.x509_svid_cache_max_size, availability_target: a.availability_target, log_format: a.log_format, experimental: a.experimental }))' "$agent")"
  spire_validate agent "$(spire_agent_bin)" "$agent" valid || return 1
  node -e 'const fs = require("fs"); const c = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); c.agent.availability_target = "23h"; fs.writeFileSync(process.argv[2], JSON.stringify(c));' \
    "$agent" "$OIDC_RUN/broken-availability-target-agent.conf"
  spire_validate agent "$(spire_agent_bin)" "$OIDC_RUN/broken-availability-target-agent.conf" invalid
}

# The bundle the ConfigMap would hold, written where the second provider reads it.
oidc_bundle_provider() {
  "$(spire_server_bin)" bundle show -socketPath "$(oidc_fact serverSocket)" -format spiffe >"$(oidc_fact bundleFile)" || return 1
  oidc_start oidc-from-bundle "$(oidc_discovery_provider_bin)" -config "$OIDC_RUN/oidc-from-bundle.conf"
  oidc_wait oidc-from-bundle "the bundle provider serves keys" \
    curl -fsS -H "Host: $(oidc_fact domain)" -o "$OIDC_RUN/bundle-keys.json" "http://$(oidc_fact bundleAddress)$(oidc_fact prefix)/keys"
  node_lib oidc.js jwt-svid "$OIDC_RUN/jwt-svid.json" "$OIDC_RUN/bundle-keys.json" "$(oidc_fact jwtIssuer)" "$(oidc_fact jwtSvidTtl)" "$(oidc_fact bundleKeyUse)"
}

oidc_health() {
  local path code
  for path in /live /ready; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$(oidc_fact oidcHealth)$path")"
    [[ "$code" == 200 ]] || { echo "FAIL: provider health $path answered $code"; return 1; }
    echo "ok: provider health $path: $code"
  done
}

oidc_foreign_host_refused() {
  local code body="$OIDC_RUN/foreign-host.txt"
  code="$(curl -s -o "$body" -w '%{http_code}' -H 'Host: attacker.example' "$(oidc_url /.well-known/openid-configuration)")"
  if [[ "$code" == 400 ]] && grep -q 'is not allowed' "$body"; then
    echo "ok: Host attacker.example refused: $code $(head -n 1 "$body")"
  else
    echo "FAIL: Host attacker.example answered $code: $(head -n 1 "$body")"
    return 1
  fi
}

oidc_broken_issuer_rejected() {
  local out rc=0
  out="$(timeout 20 "$(oidc_discovery_provider_bin)" -config "$OIDC_RUN/broken-jwt-issuer-oidc.conf" 2>&1)" || rc=$?
  if [[ $rc -ne 0 && $rc -ne 124 ]] && grep -q 'jwt_issuer url must contain a scheme' <<<"$out"; then
    echo "ok: oidc-discovery-provider rejects the deliberately broken jwt_issuer: $(grep -m1 'jwt_issuer' <<<"$out")"
  else
    sed 's/^/    /' <<<"$out"
    echo "FAIL: oidc-discovery-provider exited $rc on a jwt_issuer without a scheme, expected its own error"
    return 1
  fi
}

scenario_oidc() {
  install_oidc_discovery_provider
  synth_app oidc
  OIDC_RUN="$WORK/oidc/run"
  mkdir -p "$OIDC_RUN"
  at_exit oidc_stop_processes

  run_check "oidc: configs extracted and remapped to loopback" oidc_prepare
  if [[ -s "$OIDC_RUN/server.conf" ]]; then
    run_check "oidc: spire-server validate accepts the JWT-SVID settings, rejects a broken TTL" oidc_validate_server
    oidc_start spire-server "$(spire_server_bin)" run -config "$OIDC_RUN/server.conf"
    run_check "oidc: spire-server up, join token issued" oidc_server_up
    if [[ -s "$OIDC_RUN/join-token" ]]; then
      run_check "oidc: spire-agent validate accepts the SDS, cache, availability, log and experimental settings, rejects a target below 24h" oidc_validate_agent
      oidc_start spire-agent "$(spire_agent_bin)" run -config "$OIDC_RUN/agent.conf" -joinToken "$(cat "$OIDC_RUN/join-token")"
      run_check "oidc: agent attested, provider registered" oidc_register_provider
      oidc_start oidc-discovery-provider "$(oidc_discovery_provider_bin)" -config "$OIDC_RUN/oidc.conf"
      run_check "oidc: discovery document names the server's issuer" oidc_discovery
      run_check "oidc: a JWT-SVID verifies against the served keys" oidc_jwt_svid
      run_check "oidc: the provider reading a bundle file serves the same key" oidc_bundle_provider
      run_check "oidc: provider health endpoints" oidc_health
      run_check "oidc: a host outside the domains is refused" oidc_foreign_host_refused
    fi
    run_check "oidc: a jwt_issuer without a scheme is rejected by the provider" oidc_broken_issuer_rejected
  fi

  oidc_stop_processes
}
