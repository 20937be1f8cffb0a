# shellcheck shell=bash
# The Helm route of docs/applying.md: Istio's `base` and `istiod` charts rendered with the output's
# helm/istiod-values.yaml (lib/istio-helm.sh), checked like the IstioOperator route. Sourced by
# conformance/run.sh after checks.sh.

helm_values_of() { echo "$1/helm/istiod-values.yaml"; }

# prepare_helm DIR VERSION VALUES W: the charts rendered with VALUES into W/rendered and the
# injector of the rendered istiod extracted into W; done once per W.
prepare_helm() {
  local dir="$1" version="$2" values="$3" w="$4"
  [[ -f "$w/injector.json" ]] && return 0
  mkdir -p "$w"
  render_istio_helm "$version" "$values" "$w/rendered"
  echo "ok: helm $HELM_VERSION template, Istio $version charts, $(basename "$values"):" \
    "base $(grep -c '^kind:' "$w/rendered/base.yaml") objects, istiod $(grep -c '^kind:' "$w/rendered/istiod.yaml") objects"
  extract_injector "$dir" "$w" "$w/rendered/istiod.yaml"
}

# alter_helm_values DIR W HOW: W/istiod-values.yaml, a copy of DIR's values altered by
# helm.js altered-values HOW.
alter_helm_values() {
  local dir="$1" w="$2" how="$3"
  mkdir -p "$w"
  echo "  altered copy of the values: $(node_lib helm.js altered-values "$(helm_values_of "$dir")" "$w/istiod-values.yaml" "$how")"
}

# The charts rendered with values whose templates lost the CSI volume, and their injector, in
# $CHECK_DIR/helm-VERSION-no-csi, with one workload per set of injection templates to inject.
prepare_helm_without_csi() {
  local dir="$1" version="$2" w="$CHECK_DIR/helm-$2-no-csi"
  alter_helm_values "$dir" "$w" no-csi
  prepare_helm "$dir" "$version" "$w/istiod-values.yaml" "$w" >"$w/prepare.log" || { cat "$w/prepare.log"; return 1; }
  awk -F '\t' '!seen[$2]++' "$w/workloads.tsv" >"$w/workloads.tsv.one-per-set"
  mv "$w/workloads.tsv.one-per-set" "$w/workloads.tsv"
}

# expect_failure_naming WHAT PATTERNS COMMAND...: COMMAND must fail, and each of the
# newline-separated PATTERNS must be in its output.
expect_failure_naming() {
  local what="$1" patterns="$2" out rc=0 pattern missing=0
  shift 2
  out="$("$@" 2>&1)" || rc=$?
  while IFS= read -r pattern; do
    grep -q -E -- "$pattern" <<<"$out" || missing=1
  done <<<"$patterns"
  if [[ $rc -ne 0 && $missing -eq 0 ]]; then
    echo "ok: $what is rejected:"
    while IFS= read -r pattern; do grep -m 1 -E -- "$pattern" <<<"$out" | sed 's/^\(FAIL: \)\{0,1\} */    /'; done <<<"$patterns"
    return 0
  fi
  sed 's/^/    /' <<<"$out"
  echo "FAIL: $what was not rejected naming $(tr '\n' ',' <<<"$patterns") (exit $rc)"
  return 1
}

# The CRDs 0004 needs come from the base chart; a copy without one of them must be reported.
check_helm_base() {
  local dir="$1" version="$2" w="$CHECK_DIR/helm-$2" kind
  prepare_helm "$dir" "$version" "$(helm_values_of "$dir")" "$w"
  node_lib helm.js base-crds "$dir" "$w/rendered/base.yaml"
  kind="$(node_lib helm.js base-without-crd "$dir" "$w/rendered/base.yaml" "$w/base-without-crd.yaml")"
  [[ -n "$kind" ]] || { echo "note: the output has no Istio kind; no must-fail copy"; return 0; }
  expect_failure_naming "a base chart without the $kind CRD" "serves no CRD for $kind " \
    node_lib helm.js base-crds "$dir" "$w/base-without-crd.yaml"
}

# The rendered istiod carries the values' trust domain, istiod environment and SPIRE templates;
# values with another trust domain and sidecar mode, or templates without the CSI volume, must not pass.
check_helm_istiod() {
  local dir="$1" version="$2" trust_domain="$3" w="$CHECK_DIR/helm-$2"
  local settings="$CHECK_DIR/helm-$2-settings" no_csi="$CHECK_DIR/helm-$2-no-csi"
  prepare_helm "$dir" "$version" "$(helm_values_of "$dir")" "$w" >/dev/null
  node_lib helm.js istiod-settings "$w/rendered/istiod.yaml" "$(helm_values_of "$dir")" "$trust_domain"
  alter_helm_values "$dir" "$settings" settings
  render_istio_helm "$version" "$settings/istiod-values.yaml" "$settings/rendered"
  expect_failure_naming "istiod rendered from the altered settings" $'trustDomain: .*the rendered mesh config has \'altered\.\nistiod Deployment env ENABLE_NATIVE_SIDECARS: ' \
    node_lib helm.js istiod-settings "$settings/rendered/istiod.yaml" "$(helm_values_of "$dir")" "$trust_domain"
  prepare_helm_without_csi "$dir" "$version"
  expect_failure_naming "istiod rendered from templates without the CSI volume" "injection template [^:]+: the rendered injector ConfigMap holds other text" \
    node_lib helm.js istiod-settings "$no_csi/rendered/istiod.yaml" "$(helm_values_of "$dir")" "$trust_domain"
}

# The output's workloads injected with the rendered injector pass the IstioOperator route's
# checks; with templates that lost the CSI volume, a workload of each set of templates must fail
# for that volume.
HELM_NO_CSI_CAUSE="istio-proxy's SDS socket directory [^ ]+ is backed by the csi.spiffe.io volume"
check_helm_injection() {
  local dir="$1" version="$2" expected_mode="$3" w="$CHECK_DIR/helm-$2" copy="$CHECK_DIR/helm-$2-no-csi"
  local out rc=0 workloads failures
  prepare_helm "$dir" "$version" "$(helm_values_of "$dir")" "$w" >/dev/null
  inject_workloads "$w" "$version" "$expected_mode"
  prepare_helm_without_csi "$dir" "$version"
  out="$(inject_workloads "$copy" "$version" "$expected_mode" 2>&1)" || rc=$?
  workloads="$(wc -l <"$copy/workloads.tsv")"
  failures="$(grep -c -E "FAIL: $HELM_NO_CSI_CAUSE" <<<"$out" || true)"
  if [[ $rc -ne 0 && "$failures" -eq "$workloads" ]]; then
    echo "ok: injected with those templates, each of $workloads workloads (one per set of templates) fails the check" \
      "\"$(grep -m 1 -o -E "$HELM_NO_CSI_CAUSE.*" <<<"$out")\""
    return 0
  fi
  sed 's/^/    /' <<<"$out"
  echo "FAIL: injected with templates without the CSI volume, $failures of $workloads workloads failed for /$HELM_NO_CSI_CAUSE/ (exit $rc)"
  return 1
}

# The Helm commands of docs/applying.md are the route these checks render: base, then istiod with
# the values, in istio-system, at the newer pinned release, between the identities and the
# workloads. A copy without the base chart's install must be rejected for it.
check_helm_docs() {
  local page="$REPO_DIR/docs/applying.md" copy="$WORK/applying-without-base.md" dropped
  local args=("$ISTIO_NEW_VERSION" "$ISTIO_HELM_NAMESPACE" dist/helm/istiod-values.yaml)
  node_lib helm.js doc-commands "$page" "${args[@]}"
  dropped="$(node_lib helm.js doc-without "$page" "$copy" "helm install istio-base ")"
  echo "  copy without the $dropped \`helm install istio-base\` line(s)"
  expect_failure_naming "docs/applying.md without the base chart's install" "has no \`helm install istio-base istio/base " \
    node_lib helm.js doc-commands "$copy" "${args[@]}"
}

# check_helm_output LABEL DIR TRUST_DOMAIN MODE: the Helm checks of one output, for each pinned Istio.
check_helm_output() {
  local label="$1" dir="$2" trust_domain="$3" mode="$4" version
  if [[ ! -f "$(helm_values_of "$dir")" ]]; then
    echo "note: $label has no helm/istiod-values.yaml; no Helm checks"
    return 0
  fi
  for version in "${ISTIO_VERSIONS[@]}"; do
    run_check "$label: istio $version Helm base chart serves the output's Istio kinds" check_helm_base "$dir" "$version"
    run_check "$label: istio $version Helm istiod chart carries the values' settings" check_helm_istiod "$dir" "$version" "$trust_domain"
    run_check "$label: istio $version injection with the Helm-rendered injector" check_helm_injection "$dir" "$version" "$mode"
  done
}
