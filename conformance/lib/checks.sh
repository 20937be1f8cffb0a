# shellcheck shell=bash
# The individual conformance checks. Sourced by conformance/run.sh, which provides WORK,
# CONFORMANCE_DIR and the tool locations from tools.sh.

PASSED=0
FAILED=0
# Everything runs offline; a tool that tries to reach a cluster would otherwise hang.
TOOL_TIMEOUT=300
FAILED_NAMES=()

section() { printf '\n== %s\n' "$*"; }

node_lib() { node "$CONFORMANCE_DIR/lib/$1" "${@:2}"; }

require_node_yaml() {
  command -v node >/dev/null 2>&1 || die "node is not installed"
  (cd "$CONFORMANCE_DIR/lib" && node -e "require('yaml')") 2>/dev/null ||
    die "the 'yaml' npm package is not resolvable from $CONFORMANCE_DIR/lib; run npm install in $REPO_DIR"
  echo "ok: node $(node --version) with the yaml package"
}

# run_check NAME FUNCTION ARGS... runs the check in a subshell with errexit active (it would be
# ignored inside an `if`), so any failing command fails the check without stopping the suite.
run_check() {
  local name="$1"
  shift
  echo "-- $name"
  local rc
  set +e
  (set -e; "$@")
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    echo "PASS: $name"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    echo "FAIL: $name"
  fi
}

summary() {
  section "summary (${1}s)"
  local name
  for name in "${FAILED_NAMES[@]}"; do echo "failed: $name"; done
  echo "conformance: $PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

# Values shared between the checks of one output directory live in files under $CHECK_DIR,
# since every check runs in its own subshell.
check_output() {
  local label="$1" dir="$2" trust_domain="$3" cluster_name="$4" mode="$5"
  CHECK_DIR="$WORK/checks/$label"
  mkdir -p "$CHECK_DIR"
  section "$label: $dir (trust domain $trust_domain, cluster $cluster_name, $mode sidecars)"
  run_check "$label: layout and apply order" check_layout "$dir" "$trust_domain"
  local version
  for version in "${ISTIO_VERSIONS[@]}"; do
    run_check "$label: istio $version injection" check_injection "$dir" "$version" "$mode"
    run_check "$label: istio $version injection with per-pod nativeSidecar override" check_native_override "$dir" "$version"
    run_check "$label: istio $version analyze" check_analyze "$dir" "$version"
  done
  run_check "$label: spire-server/spire-agent validate" check_spire "$dir" "$trust_domain" "$cluster_name"
  run_check "$label: kubectl-validate (Kubernetes $KUBERNETES_SCHEMA_VERSION)" check_kubectl_validate "$dir"
  run_check "$label: ClusterSPIFFEID (spire-controller-manager $SPIRE_CONTROLLER_MANAGER_VERSION)" \
    check_clusterspiffeid "$dir" "$trust_domain" "$cluster_name"
  run_check "$label: spire.spiffe.io CRDs match spire-controller-manager $SPIRE_CONTROLLER_MANAGER_VERSION" \
    check_crd_drift "$dir"
  check_helm_output "$label" "$dir" "$trust_domain" "$mode"
}

json_field() {
  node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(v === undefined ? "" : Array.isArray(v) ? v.join(",") : v)' "$1" "$2"
}

check_layout() {
  local dir="$1" trust_domain="$2"
  local f files=()
  for f in "$dir"/*.k8s.yaml; do files+=("$(basename "$f")"); done
  echo "files in apply order: ${files[*]}"
  node_lib extract.js apply-order "$dir"
  local iop
  iop="$(node_lib extract.js istio-operator "$dir" "$CHECK_DIR/istio-operator.yaml")"
  echo "ok: one IstioOperator, alone in $(json_field "$iop" file)"
  printf '%s' "$(json_field "$iop" file)" >"$CHECK_DIR/istio-operator.file"
  local mesh_td
  mesh_td="$(json_field "$iop" trustDomain)"
  [[ "$mesh_td" == "$trust_domain" ]] || {
    echo "FAIL: IstioOperator spec.meshConfig.trustDomain is '$mesh_td', expected '$trust_domain' (must equal SPIRE's trust domain)"
    return 1
  }
  echo "ok: IstioOperator meshConfig.trustDomain is $trust_domain"
}

# kube-inject without a cluster only turns native sidecars on when its own process environment
# has ENABLE_NATIVE_SIDECARS=true (istio pkg/kube/inject), so the value istiod gets from the
# profile is passed on. "auto" lets istiod decide by node version; nodes of the Kubernetes
# version validated against (>= 1.33) support native sidecars, so auto is run as true.
native_setting_for_kube_inject() {
  case "$1" in
    true | auto | "") echo true ;;
    false) echo false ;;
    *) echo "invalid" ;;
  esac
}

# prepare_injector DIR VERSION: istioctl manifest generate on the output's IstioOperator, then
# the injector from what it generated. Reused by later checks of the same output.
prepare_injector() {
  local dir="$1" version="$2"
  local w="$CHECK_DIR/istio-$version"
  [[ -f "$w/injector.json" ]] && return 0
  mkdir -p "$w"
  [[ -f "$CHECK_DIR/istio-operator.yaml" ]] || node_lib extract.js istio-operator "$dir" "$CHECK_DIR/istio-operator.yaml" >/dev/null
  if ! timeout "$TOOL_TIMEOUT" "$(istioctl_bin "$version")" manifest generate -f "$CHECK_DIR/istio-operator.yaml" \
    --set hub=docker.io/istio --set "tag=$version" >"$w/generated.yaml" 2>"$w/generate.log"; then
    cat "$w/generate.log"
    echo "FAIL: istioctl $version manifest generate rejected the IstioOperator"
    return 1
  fi
  echo "ok: istioctl $version manifest generate -f <IstioOperator> ($(grep -c '^kind:' "$w/generated.yaml") objects)"
  extract_injector "$dir" "$w" "$w/generated.yaml"
}

# extract_injector DIR W MANIFEST: into W the injector config, values and mesh config of an
# installed istiod (MANIFEST: its ConfigMaps and Deployment), the native sidecar setting istiod
# runs with, and DIR's workloads to inject with them. W/injector.json is written last.
extract_injector() {
  local dir="$1" w="$2" manifest="$3"
  local info native_value native_env
  info="$(node_lib extract.js injector-config "$manifest" "$w/injector")"
  native_value="$(json_field "$info" enableNativeSidecars)"
  native_env="$(native_setting_for_kube_inject "$native_value")"
  [[ "$native_env" != invalid ]] || { echo "FAIL: istiod ENABLE_NATIVE_SIDECARS='$native_value' is not true, false or auto"; return 1; }
  echo "ok: injector config, values and mesh config extracted; templates: $(json_field "$info" templates)"
  echo "ok: istiod ENABLE_NATIVE_SIDECARS='${native_value:-<unset>}' -> kube-inject runs with ENABLE_NATIVE_SIDECARS=$native_env"
  printf '%s' "$(json_field "$info" templates)" >"$w/templates"
  printf '%s' "$native_env" >"$w/native_env"
  node_lib extract.js injectable-workloads "$dir" "$w/workloads" >"$w/workloads.tsv"
  [[ -s "$w/workloads.tsv" ]] || { echo "FAIL: no Deployment sets the pod annotation inject.istio.io/templates"; return 1; }
  spire_socket_path "$dir" >"$w/socket_path"
  printf '%s' "$info" >"$w/injector.json"
}

profile_mode() { [[ "$(cat "$1/native_env")" == true ]] && echo native || echo classic; }

# inject_and_assert W VERSION FILE EXPECTED_MODE
inject_and_assert() {
  local w="$1" version="$2" file="$3" expected_mode="$4"
  local injected="${file%.yaml}.injected.yaml"
  # --revision keeps kube-inject from looking for a cluster to find the default revision.
  if ! ENABLE_NATIVE_SIDECARS="$(cat "$w/native_env")" timeout "$TOOL_TIMEOUT" "$(istioctl_bin "$version")" kube-inject \
    --revision default --injectConfigFile "$w/injector/inject-config.yaml" --valuesFile "$w/injector/values.json" \
    --meshConfigFile "$w/injector/mesh.yaml" -f "$file" -o "$injected" 2>"$injected.log"; then
    sed 's/^/    /' "$injected.log"
    echo "    FAIL: istioctl $version kube-inject failed"
    return 1
  fi
  grep -i -E 'skipping|warn' "$injected.log" | sed 's/^/    kube-inject: /' || true
  node_lib assert-injection.js "$file" "$injected" "$(cat "$w/socket_path")" "$(profile_mode "$w")" "$expected_mode"
}

# istio_analyze VERSION MESH_CONFIG JSON FILES...: the analyzer offline, with the installed mesh
# config. Offline it reads only Istio's own kinds from files (Pods, Services and other built-in
# kinds come from a cluster), so it checks the Istio resources and their references to each other.
istio_analyze() {
  local version="$1" mesh="$2" json="$3"
  shift 3
  if ! timeout "$TOOL_TIMEOUT" "$(istioctl_bin "$version")" analyze --use-kube=false --all-namespaces \
    --meshConfigFile "$mesh" --output json "$@" >"$json" 2>"$json.log"; then
    cat "$json.log"
    echo "FAIL: istioctl $version analyze could not analyze the files"
    return 1
  fi
}

# Zero errors and no warning but the explained ones (conformance/lib/analyze-explained.js), then
# a copy with a VirtualService bound to a missing Gateway, which must be rejected (outputs without
# such a VirtualService, like the README's own-app example, have nothing to break).
check_analyze() {
  local dir="$1" version="$2"
  local w="$CHECK_DIR/istio-$version"
  prepare_injector "$dir" "$version" >/dev/null
  istio_analyze "$version" "$w/injector/mesh.yaml" "$w/analyze.json" "$dir"/*.k8s.yaml
  node_lib analyze.js judge "$w/analyze.json"
  node_lib analyze.js broken-route "$dir" "$w/analyze-broken"
  [[ -d "$w/analyze-broken" ]] || { echo "note: no VirtualService bound to a Gateway; no broken copy"; return 0; }
  istio_analyze "$version" "$w/injector/mesh.yaml" "$w/analyze-broken.json" "$w/analyze-broken"/*.k8s.yaml
  node_lib analyze.js expect-rejected "$w/analyze-broken.json"
}

check_injection() {
  local dir="$1" version="$2" expected_mode="$3"
  prepare_injector "$dir" "$version"
  inject_workloads "$CHECK_DIR/istio-$version" "$version" "$expected_mode"
}

# inject_workloads W VERSION EXPECTED_MODE: every workload W lists, injected with W's injector.
inject_workloads() {
  local w="$1" version="$2" expected_mode="$3"
  local failed=0 file templates what
  while IFS=$'\t' read -r file templates what; do
    echo "  $what (inject.istio.io/templates: $templates)"
    if ! template_names_exist "$templates" "$(cat "$w/templates")"; then
      failed=1
      continue
    fi
    inject_and_assert "$w" "$version" "$file" "$expected_mode" || failed=1
  done <"$w/workloads.tsv"
  return $failed
}

# Istio lets a pod override the mesh-wide mode with the annotation sidecar.istio.io/nativeSidecar;
# the SPIRE injection template has to follow that override too.
check_native_override() {
  local dir="$1" version="$2"
  local w="$CHECK_DIR/istio-$version"
  prepare_injector "$dir" "$version" >/dev/null
  local override mode
  if [[ "$(profile_mode "$w")" == native ]]; then override=false mode=classic; else override=true mode=native; fi
  local failed=0 checked=0 file templates what copy
  while IFS=$'\t' read -r file templates what; do
    [[ ",$templates," == *",gateway,"* ]] && continue
    checked=$((checked + 1))
    copy="${file%.yaml}.override-$override.yaml"
    node_lib extract.js annotate-pod "$file" "$copy" sidecar.istio.io/nativeSidecar "$override"
    echo "  $what with pod annotation sidecar.istio.io/nativeSidecar: \"$override\""
    inject_and_assert "$w" "$version" "$copy" "$mode" || failed=1
  done <"$w/workloads.tsv"
  echo "checked $checked sidecar workloads"
  return $failed
}

template_names_exist() {
  local requested="$1" available="$2" name missing=0
  for name in ${requested//,/ }; do
    if [[ ",$available," != *",$name,"* ]]; then
      echo "    FAIL: injection template '$name' is not defined by the injector config (has: $available)"
      missing=1
    fi
  done
  return $missing
}

spire_socket_path() {
  local info
  info="$(node_lib extract.js spire-configs "$1" "$CHECK_DIR/spire")"
  json_field "$info" socketPath
}

check_spire() {
  local dir="$1" trust_domain="$2" cluster_name="$3"
  local info s="$CHECK_DIR/spire"
  info="$(node_lib extract.js spire-configs "$dir" "$s")"
  echo "ok: server.conf from $(json_field "$info" server), agent.conf from $(json_field "$info" agent)"
  local failed=0 role td
  for role in server agent; do
    td="$(json_field "$info" "${role}TrustDomain")"
    if [[ "$td" == "$trust_domain" ]]; then
      echo "ok: $role trust_domain is $trust_domain"
    else
      echo "FAIL: $role trust_domain is '$td', expected '$trust_domain'"
      failed=1
    fi
  done
  check_psat_cluster "$info" "$cluster_name" || failed=1
  node_lib extract.js spire-validation-copies "$s" "$s/validate"
  local v="$s/validate"
  spire_validate server "$(spire_server_bin)" "$v/server.conf" valid || failed=1
  spire_validate agent "$(spire_agent_bin)" "$v/agent.conf" valid || failed=1
  local broken
  for broken in trust-domain unknown-key; do
    spire_validate server "$(spire_server_bin)" "$v/broken-$broken-server.conf" invalid || failed=1
    spire_validate agent "$(spire_agent_bin)" "$v/broken-$broken-agent.conf" invalid || failed=1
  done
  if [[ -f "$v/broken-bundle-endpoint-server.conf" ]]; then
    spire_validate server "$(spire_server_bin)" "$v/broken-bundle-endpoint-server.conf" invalid || failed=1
  fi
  return $failed
}

# With k8s_psat node attestation the agent's cluster must be one the server accepts.
check_psat_cluster() {
  local info="$1" cluster_name="$2" agent_cluster server_clusters
  agent_cluster="$(json_field "$info" agentPsatCluster)"
  server_clusters="$(json_field "$info" serverPsatClusters)"
  if [[ -z "$agent_cluster" && -z "$server_clusters" ]]; then
    echo "note: no k8s_psat NodeAttestor; cluster name not checked"
    return 0
  fi
  if [[ "$agent_cluster" == "$cluster_name" && ",$server_clusters," == *",$cluster_name,"* ]]; then
    echo "ok: k8s_psat cluster is $cluster_name in agent.conf and accepted by server.conf"
  else
    echo "FAIL: k8s_psat cluster: agent.conf says '$agent_cluster', server.conf accepts '$server_clusters', expected '$cluster_name'"
    return 1
  fi
}

# spire_validate ROLE BINARY CONFIG valid|invalid
spire_validate() {
  local role="$1" bin="$2" config="$3" expect="$4" out rc=0
  out="$("$bin" validate -config "$config" 2>&1)" || rc=$?
  if [[ "$expect" == valid && $rc -eq 0 ]]; then
    echo "ok: spire-$role validate accepts $(basename "$config"): $out"
  elif [[ "$expect" == invalid && $rc -ne 0 ]]; then
    echo "ok: spire-$role validate rejects the deliberately broken $(basename "$config"): $(grep -v 'level=' <<<"$out" | head -n 1)"
  else
    echo "FAIL: spire-$role validate on $(basename "$config") exited $rc, expected the config to be $expect:"
    sed 's/^/    /' <<<"$out"
    return 1
  fi
}

check_kubectl_validate() {
  local dir="$1" crds="$CHECK_DIR/crds" iop_file names
  names="$(node_lib extract.js crds "$dir" "$crds")"
  echo "local CRDs from the output: ${names:-<none>}"
  # Istio's own kinds (Gateway, VirtualService) are checked against the CRDs installing Istio creates.
  prepare_injector "$dir" "$ISTIO_NEW_VERSION" >/dev/null
  names="$(node_lib extract.js crds "$CHECK_DIR/istio-$ISTIO_NEW_VERSION/generated.yaml" "$crds")"
  echo "local CRDs from istioctl $ISTIO_NEW_VERSION manifest generate: $names"
  iop_file="$(cat "$CHECK_DIR/istio-operator.file" 2>/dev/null || true)"
  local files=() f
  for f in "$dir"/*.k8s.yaml; do
    if [[ -n "$iop_file" && "$(realpath "$f")" == "$(realpath "$iop_file")" ]]; then
      echo "excluded: $(basename "$f") (IstioOperator, istioctl input rather than a cluster object; checked by istioctl above)"
      continue
    fi
    files+=("$f")
  done
  local out rc=0
  out="$("$(kubectl_validate_bin)" "${files[@]}" --local-crds "$crds" --version "$KUBERNETES_SCHEMA_VERSION" 2>&1)" || rc=$?
  sed 's/^/  /' <<<"$out"
  [[ $rc -eq 0 ]] || { echo "FAIL: kubectl-validate reported errors"; return 1; }
  echo "ok: kubectl-validate: ${#files[@]} files valid against Kubernetes $KUBERNETES_SCHEMA_VERSION and the output's CRDs"
  expect_security_copies_rejected "$dir" "$crds"
}

# Copies of the Istio security objects with a value their CRD forbids must be rejected, which
# shows kubectl-validate checks them against Istio's schemas rather than passing unknown kinds.
expect_security_copies_rejected() {
  local dir="$1" crds="$2" broken="$CHECK_DIR/broken-security" f out
  node_lib istio-security.js broken-copies "$dir" "$broken" | sed 's/^/  broken copy: /'
  compgen -G "$broken/*.yaml" >/dev/null || { echo "note: no AuthorizationPolicy or PeerAuthentication; no broken copy"; return 0; }
  for f in "$broken"/*.yaml; do
    if out="$("$(kubectl_validate_bin)" "$f" --local-crds "$crds" --version "$KUBERNETES_SCHEMA_VERSION" 2>&1)"; then
      echo "FAIL: kubectl-validate accepted the deliberately broken $(basename "$f")"
      return 1
    fi
    echo "ok: kubectl-validate rejects the deliberately broken $(basename "$f"): $(grep -o 'Unsupported value[^"]*"[^"]*"' <<<"$out" | head -n 1)"
  done
}

check_clusterspiffeid() {
  local dir="$1" trust_domain="$2" cluster_name="$3"
  "$(clusterspiffeid_check_bin)" -trust-domain "$trust_domain" -cluster-name "$cluster_name" "$dir"/*.k8s.yaml
}

# The CRDs spire-controller-manager ships in its module source, from the Go module cache: the
# module the ClusterSPIFFEID check builds against, so both checks follow the same pin.
spire_controller_manager_crd_dir() {
  local info
  info="$(cd "$CONFORMANCE_DIR/clusterspiffeid" &&
    go mod download -json "github.com/spiffe/spire-controller-manager@$SPIRE_CONTROLLER_MANAGER_VERSION")"
  echo "$(json_field "$info" Dir)/config/crd/bases"
}

# The emitted spire.spiffe.io CRDs against upstream's, structurally (conformance/lib/crd-drift.js),
# then a copy with one CRD deliberately drifted, which must be reported.
check_crd_drift() {
  local dir="$1" upstream group=spire.spiffe.io altered="$CHECK_DIR/crd-drift-altered"
  upstream="$(spire_controller_manager_crd_dir)"
  [[ -d "$upstream" ]] || { echo "FAIL: no config/crd/bases in the spire-controller-manager module ($upstream)"; return 1; }
  echo "upstream CRDs: $upstream"
  node_lib crd-drift.js compare "$dir" "$upstream" "$group"
  node_lib crd-drift.js altered-copy "$dir" "$altered" "$group" || {
    echo "note: no emitted $group CRD to alter; no must-fail copy"
    return 0
  }
  local out rc=0
  out="$(node_lib crd-drift.js compare "$altered" "$upstream" "$group" 2>&1)" || rc=$?
  if [[ $rc -ne 0 ]] && grep -q '^    spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\.spec\.required: emitted <absent>' <<<"$out"; then
    echo "ok: the deliberately drifted copy is reported: $(grep -m1 '^    spec' <<<"$out" | sed 's/^ *//')"
  else
    sed 's/^/    /' <<<"$out"
    echo "FAIL: the deliberately drifted copy was not reported as drift of spec.required"
    return 1
  fi
}

# imports/*.istio.io.ts must be byte for byte what scripts/import-istio.sh generates from the CRDs
# of the pinned Istio release; a copy generated from a CRD missing one field must differ.
check_istio_imports() {
  local out="$WORK/istio-imports" file
  bash "$REPO_DIR/scripts/import-istio.sh" "$out/current" 2>"$out.log" || { cat "$out.log"; return 1; }
  for file in "$out/current"/*.ts; do
    cmp "$file" "$REPO_DIR/imports/$(basename "$file")" || {
      echo "FAIL: imports/$(basename "$file") is not what cdk8s import generates from Istio $ISTIO_NEW_VERSION's CRDs; run npm run import:istio"
      return 1
    }
    echo "ok: imports/$(basename "$file") ($(wc -c <"$file") bytes) is what cdk8s import generates from Istio $ISTIO_NEW_VERSION's CRDs"
  done
  bash "$REPO_DIR/scripts/import-istio.sh" "$out/broken" --drop-field AuthorizationPolicy.rules 2>"$out.log" || { cat "$out.log"; return 1; }
  if cmp -s "$out/broken/security.istio.io.ts" "$REPO_DIR/imports/security.istio.io.ts"; then
    echo "FAIL: an import from a CRD without AuthorizationPolicy spec.rules compares equal to imports/security.istio.io.ts"
    return 1
  fi
  echo "ok: an import from a CRD without AuthorizationPolicy spec.rules differs: $(diff "$out/broken/security.istio.io.ts" "$REPO_DIR/imports/security.istio.io.ts" | grep -c '^>') lines missing"
}

# Helpers of the scenarios that run real processes.

# free_ports N: N TCP ports free on loopback right now, space-separated.
free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((done) => s.listen(0, "127.0.0.1", () => done(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
  ' "$1"
}

# write_unreachable_kubeconfig FILE: a kubeconfig of an API server nobody listens on, for the
# server's k8s_configmap bundle publisher, which builds its client at start and only fails to publish.
write_unreachable_kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters: [{ name: none, cluster: { server: "https://127.0.0.1:1" } }]
contexts: [{ name: none, context: { cluster: none, user: none } }]
users: [{ name: none, user: {} }]
current-context: none
EOF
}

# wait_for_process WHAT SECONDS PID LOG COMMAND...: runs COMMAND each second until it succeeds;
# fails after SECONDS, or at once when process PID has exited, with the end of LOG.
wait_for_process() {
  local what="$1" seconds="$2" pid="$3" log="$4" start=$SECONDS
  shift 4
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS - start >= seconds)); then
      echo "FAIL: $what: not within $((SECONDS - start))s; $log ends:"
      tail -n 20 "$log" | sed 's/^/    /'
      return 1
    fi
    sleep 1
  done
  echo "ok: $what after $((SECONDS - start))s"
}

# stop_process PID: SIGTERM, then SIGKILL if it is still there after 30 s. Processes a check
# started in its subshell are no children of the caller, so it polls instead of waiting.
stop_process() {
  local pid="$1" i
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# at_exit COMMAND: run when the suite exits, however it ends, newest first, before $WORK goes.
AT_EXIT=()
at_exit() { AT_EXIT=("$1" "${AT_EXIT[@]}"); }
run_at_exit() {
  local command
  for command in "${AT_EXIT[@]}"; do eval "$command" || true; done
}
