# shellcheck shell=bash
# UpstreamAuthority: every variant conformance/apps/upstream.ts synthesizes passes
# `spire-server validate` and a broken copy of each fails it; the disk variant runs for real on
# CAs openssl makes here, and SPIRE's X.509 CA must chain to them. Sourced by conformance/run.sh.

scenario_upstream() {
  local w="$WORK/upstream"
  synth_app upstream
  node_lib upstream.js configs "$w/dist" "$w/configs" >"$w/variants.tsv"
  run_check "upstream: spire-server validate accepts every variant and rejects a broken copy of each" upstream_validate "$w"
  run_check "upstream: kubectl-validate (Kubernetes $KUBERNETES_SCHEMA_VERSION) accepts the variants' volumes and RBAC" upstream_kubectl_validate "$w"
  run_check "upstream: disk with an openssl root CA: SPIRE's X.509 CA and its SVIDs chain to that root" \
    upstream_disk_chains "$w" disk root
  run_check "upstream: disk joining a PKI (intermediate from a Secret, root as bundle): SVIDs chain to the root" \
    upstream_disk_chains "$w" disk-chain intermediate
  run_check "upstream: disk with a key that does not match the certificate is refused by SPIRE" \
    upstream_disk_refused "$w" mismatched-key 'unable to load upstream CA: certificate and private key do not match'
  run_check "upstream: disk with a certificate without CA:true is refused by SPIRE" \
    upstream_disk_refused "$w" not-a-ca 'X509 CA minted by upstream authority is invalid'
}

upstream_validate() {
  local w="$1" failed=0 variant plugin conf broken what
  while IFS=$'\t' read -r variant plugin; do
    conf="$w/configs/$variant.server.conf"
    broken="$w/configs/broken-$variant.server.conf"
    echo "  $variant (UpstreamAuthority \"$plugin\")"
    spire_validate server "$(spire_server_bin)" "$conf" valid || failed=1
    what="$(node_lib upstream.js broken "$conf" "$broken")"
    echo "    broken copy: $what"
    spire_validate server "$(spire_server_bin)" "$broken" invalid || failed=1
  done <"$w/variants.tsv"
  echo "checked $(wc -l <"$w/variants.tsv") variants"
  return $failed
}

# Secret and CSI volumes and the cert-manager Role against the API server's schemas; copies whose
# upstream volumes misname a field must be rejected.
upstream_kubectl_validate() {
  local w="$1" out rc=0 variant reason
  out="$("$(kubectl_validate_bin)" "$w/dist"/*.k8s.yaml --version "$KUBERNETES_SCHEMA_VERSION" 2>&1)" || rc=$?
  [[ $rc -eq 0 ]] || { sed 's/^/  /' <<<"$out"; echo "FAIL: kubectl-validate reported errors"; return 1; }
  echo "ok: kubectl-validate: $(ls "$w/dist"/*.k8s.yaml | wc -l) files valid"
  for variant in disk spire; do
    echo "  broken copy of $variant: $(node_lib upstream.js broken-volumes "$w/dist/upstream-$variant.k8s.yaml" "$w/broken-volumes-$variant")"
    rc=0
    out="$("$(kubectl_validate_bin)" "$w/broken-volumes-$variant" --version "$KUBERNETES_SCHEMA_VERSION" 2>&1)" || rc=$?
    [[ $rc -ne 0 ]] || { echo "FAIL: kubectl-validate accepted the broken copy of $variant"; return 1; }
    reason="$(grep -o -m 1 'spec.template.spec.volumes\[[0-9]*\][^ ]*: Invalid value: value provided for unknown field' <<<"$out")" || {
      sed 's/^/    /' <<<"$out"
      echo "FAIL: kubectl-validate rejected the broken copy of $variant, but not for its volume"
      return 1
    }
    echo "  ok: rejected: $reason"
  done
}

# openssl_ca DIR NAME SUBJECT [ISSUER]: DIR/NAME.key and DIR/NAME.pem, a CA certificate
# (CA:true, keyCertSign), self-signed or signed by DIR/ISSUER.
openssl_ca() {
  local dir="$1" name="$2" subject="$3" issuer="${4:-}"
  local ext="basicConstraints=critical,CA:true
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
  if [[ -z "$issuer" ]]; then
    openssl req -x509 -new -key "$dir/$name.key" -subj "$subject" -days 2 -out "$dir/$name.pem" \
      -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  else
    openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$issuer.pem" -CAkey "$dir/$issuer.key" -CAcreateserial \
      -days 2 -out "$dir/$name.pem" -extfile <(printf '%s\n%s\n' "$ext" "authorityKeyIdentifier=keyid") 2>/dev/null
  fi
}

# upstream_ca_secret DIR KIND: the files of the upstream CA Secret under DIR/ca, as the disk
# variant of KIND mounts them (tls.crt, tls.key and, joining a PKI, ca.crt), from CAs under DIR/pki.
upstream_ca_secret() {
  local dir="$1" kind="$2" pki="$1/pki"
  mkdir -p "$pki" "$dir/ca"
  openssl_ca "$pki" root "/O=Conformance Corp/CN=Conformance Root CA"
  case "$kind" in
    root)
      cp "$pki/root.pem" "$dir/ca/tls.crt"
      cp "$pki/root.key" "$dir/ca/tls.key"
      ;;
    intermediate)
      openssl_ca "$pki" issuing "/O=Conformance Corp/CN=Conformance Issuing CA for SPIRE" root
      cp "$pki/issuing.pem" "$dir/ca/tls.crt"
      cp "$pki/issuing.key" "$dir/ca/tls.key"
      cp "$pki/root.pem" "$dir/ca/ca.crt"
      ;;
    mismatched-key)
      cp "$pki/root.pem" "$dir/ca/tls.crt"
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca/tls.key" 2>/dev/null
      ;;
    not-a-ca)
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca/tls.key" -out "$dir/ca/tls.crt" \
        -days 2 -subj "/O=Conformance Corp/CN=Not A CA" -addext "basicConstraints=critical,CA:false" \
        -addext "keyUsage=critical,digitalSignature" 2>/dev/null
      ;;
  esac
  echo "openssl: upstream CA $(openssl x509 -noout -subject -in "$dir/ca/tls.crt"), $(openssl x509 -noout -ext basicConstraints -in "$dir/ca/tls.crt" | tail -n 1 | xargs)"
}

# upstream_runnable W VARIANT DIR: DIR/server.conf, the variant's config remapped into DIR.
upstream_runnable() {
  local w="$1" variant="$2" dir="$3" ports
  mkdir -p "$dir/data" "$dir/socket"
  read -r -a ports <<<"$(free_ports 3)"
  node_lib upstream.js runnable "$w/configs/$variant.server.conf" "$dir/server.conf" "$dir" "${ports[@]}"
}

print_certificate() {
  echo "  $1: $(openssl x509 -noout -subject -in "$2" | sed 's/^subject=//'), issued by $(openssl x509 -noout -issuer -in "$2" | sed 's/^issuer=//')"
}

# The server runs on the variant's config with a CA from openssl; the bundle it serves must be
# the corporate root, and an SVID it mints must verify against that root alone.
upstream_disk_chains() {
  local w="$1" variant="$2" kind="$3" dir="$1/run-$2"
  mkdir -p "$dir"
  upstream_ca_secret "$dir" "$kind"
  upstream_runnable "$w" "$variant" "$dir"
  local socket="$dir/socket/api.sock" pid
  "$(spire_server_bin)" run -config "$dir/server.conf" >"$dir/server.log" 2>&1 &
  pid=$!
  # The check runs in a subshell of its own: its EXIT trap stops the server however the check ends.
  UPSTREAM_SERVER_PID=$pid
  trap 'stop_process "$UPSTREAM_SERVER_PID"' EXIT
  wait_for_process "spire-server (pid $pid) healthy" 60 "$pid" "$dir/server.log" "$(spire_server_bin)" healthcheck -socketPath "$socket"
  echo "ok: $(grep -o 'msg="X509 CA activated".*upstream_authority_id=[0-9a-f]*' "$dir/server.log" | grep -o 'upstream_authority_id=[0-9a-f]*')"

  "$(spire_server_bin)" bundle show -socketPath "$socket" >"$dir/bundle.pem"
  local bundle_count root_fp bundle_fp
  bundle_count="$(node_lib upstream.js split-pem "$dir/bundle.pem" "$dir/bundle-")"
  root_fp="$(openssl x509 -noout -fingerprint -sha256 -in "$dir/pki/root.pem")"
  bundle_fp="$(openssl x509 -noout -fingerprint -sha256 -in "$dir/bundle-0.pem")"
  [[ "$bundle_count" == 1 && "$bundle_fp" == "$root_fp" ]] || {
    echo "FAIL: the trust bundle holds $bundle_count certificates; expected only the openssl root ($root_fp), first is $bundle_fp"
    return 1
  }
  echo "ok: the trust bundle agents and Envoy get is exactly the openssl root ($root_fp)"

  mkdir -p "$dir/mint"
  "$(spire_server_bin)" x509 mint -spiffeID spiffe://example.org/ns/conformance/sa/upstream -socketPath "$socket" -write "$dir/mint" >/dev/null
  local count i
  count="$(node_lib upstream.js split-pem "$dir/mint/svid.pem" "$dir/chain-")"
  [[ "$count" -ge 2 ]] || { echo "FAIL: the minted SVID has no intermediate ($count certificates)"; return 1; }
  print_certificate "SVID" "$dir/chain-0.pem"
  : >"$dir/intermediates.pem"
  for ((i = 1; i < count; i++)); do
    print_certificate "intermediate $i" "$dir/chain-$i.pem"
    cat "$dir/chain-$i.pem" >>"$dir/intermediates.pem"
  done
  print_certificate "root (openssl)" "$dir/pki/root.pem"
  openssl verify -CAfile "$dir/pki/root.pem" -untrusted "$dir/intermediates.pem" "$dir/chain-1.pem" | sed 's/^/  openssl verify (SPIRE CA): /'
  openssl verify -CAfile "$dir/pki/root.pem" -untrusted "$dir/intermediates.pem" "$dir/chain-0.pem" | sed 's/^/  openssl verify (SVID): /'
  echo "ok: SPIRE's X.509 CA and the SVID it minted chain to the openssl root through $((count - 1)) intermediate(s)"
}

# Must fail: the server refuses the broken CA with SPIRE's own error and exits.
upstream_disk_refused() {
  local w="$1" kind="$2" expected="$3" dir="$1/run-$2" rc=0
  mkdir -p "$dir"
  upstream_ca_secret "$dir" "$kind"
  upstream_runnable "$w" disk "$dir" >/dev/null
  timeout 60 "$(spire_server_bin)" run -config "$dir/server.conf" >"$dir/server.log" 2>&1 || rc=$?
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then
    echo "FAIL: spire-server ran with the broken upstream CA (exit $rc)"
    return 1
  fi
  grep -q -F "$expected" "$dir/server.log" || {
    tail -n 20 "$dir/server.log"
    echo "FAIL: spire-server exited $rc without the expected error \"$expected\""
    return 1
  }
  echo "ok: spire-server exited $rc: $(grep -o 'msg="Server crashed" error=.*' "$dir/server.log" | head -n 1 | cut -c1-300)"
}
