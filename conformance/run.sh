#!/usr/bin/env bash
# Conformance suite: feeds the synthesized manifests to the upstream tools that consume them
# (istioctl, spire-server/spire-agent, kubectl-validate, spire-controller-manager's API package).
#
#   bash conformance/run.sh              synthesize every variant into temp dirs and check them,
#                                        plus dist/ when it exists
#   bash conformance/run.sh --dir DIR    check an already synthesized directory only
#   bash conformance/run.sh --scenario NAME
#                                        run one real-server scenario only (conformance/scenarios/NAME.sh)
#   bash conformance/run.sh --helm [--dir DIR]
#                                        the Helm route's checks only, on DIR (default dist/)
set -euo pipefail

CONFORMANCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$CONFORMANCE_DIR")"
# shellcheck source=lib/tools.sh
source "$CONFORMANCE_DIR/lib/tools.sh"
# shellcheck source=lib/postgres.sh
source "$CONFORMANCE_DIR/lib/postgres.sh"
# shellcheck source=lib/checks.sh
source "$CONFORMANCE_DIR/lib/checks.sh"
# shellcheck source=lib/istio-helm.sh
source "$CONFORMANCE_DIR/lib/istio-helm.sh"
# shellcheck source=lib/helm-checks.sh
source "$CONFORMANCE_DIR/lib/helm-checks.sh"

DEFAULT_TRUST_DOMAIN=example.org
DEFAULT_CLUSTER_NAME=demo-cluster

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

# synth_variant NAME ENV... : synthesizes with the given environment into $WORK/NAME/dist.
synth_variant() {
  local name="$1"
  shift
  local out="$WORK/$name/dist"
  mkdir -p "$out"
  echo "synth: $name ($*)"
  if ! (cd "$REPO_DIR" && env "$@" npx cdk8s synth --check-upgrade false -o "$out") >"$WORK/$name/synth.log" 2>&1; then
    cat "$WORK/$name/synth.log" >&2
    die "cdk8s synth failed for variant $name"
  fi
}

# synth_readme_example: the README's own-app example, verbatim, against the packed library, into
# $WORK/readme/dist (its trust domain and cluster name are the example's).
README_TRUST_DOMAIN=corp.example
README_CLUSTER_NAME=prod
synth_readme_example() {
  mkdir -p "$WORK/readme"
  echo "synth: readme (the README example in a scratch app with the packed library)"
  if ! node "$CONFORMANCE_DIR/lib/readme-app.js" "$WORK/readme/app" "$WORK/readme/dist" >"$WORK/readme/synth.log" 2>&1; then
    cat "$WORK/readme/synth.log" >&2
    die "the README example did not synthesize"
  fi
}

# synth_app NAME: synthesizes the cdk8s app conformance/apps/NAME.ts into $WORK/NAME/dist, the
# way `npm run synth` runs main.ts.
synth_app() {
  local name="$1" out="$WORK/$1/dist"
  mkdir -p "$out"
  echo "synth: $name (conformance/apps/$name.ts)"
  if ! (cd "$REPO_DIR" && node --require ./scripts/register-typescript.cjs "conformance/apps/$name.ts" "$out") >"$WORK/$name/synth.log" 2>&1; then
    cat "$WORK/$name/synth.log" >&2
    die "conformance app $name did not synthesize"
  fi
}

# The federation example's clusters as its source declares them, "<cluster name> <trust domain>" a
# line: what each of its output folders must hold.
federation_clusters() {
  (cd "$REPO_DIR" && node --require ./scripts/register-typescript.cjs -e \
    "for (const { clusterName, trustDomain } of require('./examples/federation/federation').FEDERATION_CLUSTERS) console.log(clusterName, trustDomain);")
}

# Each conformance/scenarios/NAME.sh defines scenario_NAME, which runs real servers on what an app
# synthesizes and reports through run_check; every scenario runs after the output checks.
scenario_names() {
  local file
  for file in "$CONFORMANCE_DIR"/scenarios/*.sh; do
    [[ -e "$file" ]] && basename "$file" .sh
  done
}

run_scenario() {
  local name="$1"
  [[ -f "$CONFORMANCE_DIR/scenarios/$name.sh" ]] || die "no scenario $name in $CONFORMANCE_DIR/scenarios"
  # shellcheck source=/dev/null
  source "$CONFORMANCE_DIR/scenarios/$name.sh"
  section "scenario: $name"
  "scenario_$name"
}

main() {
  local only_dir="" only_scenario="" only_helm=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dir) only_dir="$(cd "${2:?--dir needs a directory}" && pwd)"; shift 2 ;;
      --scenario) only_scenario="${2:?--scenario needs a name}"; shift 2 ;;
      --helm) only_helm=1; shift ;;
      -h | --help) usage ;;
      *) echo "unknown argument: $1" >&2; usage ;;
    esac
  done

  local start=$SECONDS
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-spire-istio-conformance.XXXXXX")"
  trap 'run_at_exit; rm -rf "$WORK"' EXIT

  section "tools"
  if [[ -n "$only_helm" ]]; then install_helm_route_tools; else install_tools; fi
  require_node_yaml

  if [[ -n "$only_helm" ]]; then
    CHECK_DIR="$WORK/checks/helm"
    mkdir -p "$CHECK_DIR"
    section "helm: ${only_dir:-$REPO_DIR/dist}"
    run_check "docs: the Helm commands of docs/applying.md install the charts these checks render" check_helm_docs
    check_helm_output "helm" "${only_dir:-$REPO_DIR/dist}" "$DEFAULT_TRUST_DOMAIN" native
  elif [[ -n "$only_scenario" ]]; then
    run_scenario "$only_scenario"
  elif [[ -n "$only_dir" ]]; then
    check_output "given" "$only_dir" "$DEFAULT_TRUST_DOMAIN" "$DEFAULT_CLUSTER_NAME" native
  else
    section "imports"
    run_check "imports: Istio $ISTIO_NEW_VERSION classes are what cdk8s import generates from its CRDs" check_istio_imports
    run_check "docs: the Helm commands of docs/applying.md install the charts these checks render" check_helm_docs
    section "synthesis"
    synth_variant native
    synth_variant classic ISTIO_SIDECAR_MODE=classic
    synth_variant identity SPIRE_TRUST_DOMAIN=conformance.test SPIRE_CLUSTER_NAME=conformance-cluster
    synth_readme_example
    synth_app federation
    if compgen -G "$REPO_DIR/dist/*.k8s.yaml" >/dev/null; then
      check_output "dist" "$REPO_DIR/dist" "$DEFAULT_TRUST_DOMAIN" "$DEFAULT_CLUSTER_NAME" native
    else
      echo "note: $REPO_DIR/dist has no *.k8s.yaml; checking the fresh syntheses only"
    fi
    check_output "native" "$WORK/native/dist" "$DEFAULT_TRUST_DOMAIN" "$DEFAULT_CLUSTER_NAME" native
    check_output "classic" "$WORK/classic/dist" "$DEFAULT_TRUST_DOMAIN" "$DEFAULT_CLUSTER_NAME" classic
    check_output "identity" "$WORK/identity/dist" conformance.test conformance-cluster native
    check_output "readme" "$WORK/readme/dist" "$README_TRUST_DOMAIN" "$README_CLUSTER_NAME" native
    # The two-cluster federation example: each cluster's folder is a whole output of its own.
    local clusters line cluster trust_domain
    mapfile -t clusters < <(federation_clusters)
    [[ ${#clusters[@]} -gt 0 ]] || die "the federation example declares no clusters"
    for line in "${clusters[@]}"; do
      read -r cluster trust_domain <<<"$line"
      check_output "federation-$cluster" "$WORK/federation/dist/$cluster" "$trust_domain" "$cluster" native
    done
    local scenario
    for scenario in $(scenario_names); do run_scenario "$scenario"; done
  fi

  summary $((SECONDS - start))
}

main "$@"
