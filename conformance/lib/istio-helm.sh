# shellcheck shell=bash
# Istio's `base` and `istiod` Helm charts rendered the way the `helm install` commands of
# docs/applying.md install them. Needs tools.sh (the pins, helm_bin, die) sourced first.

ISTIO_HELM_NAMESPACE=istio-system
# What `helm install` against a cluster of the Kubernetes version the output is validated against
# would see; helm template otherwise assumes a version older than the charts accept.
ISTIO_HELM_KUBE_VERSION="${KUBERNETES_SCHEMA_VERSION}.0"

istio_module_version() {
  case "$1" in
    "$ISTIO_NEW_VERSION") echo "$ISTIO_NEW_MODULE_VERSION" ;;
    "$ISTIO_OLD_VERSION") echo "$ISTIO_OLD_MODULE_VERSION" ;;
    *) die "Istio $1 is not pinned (pinned: ${ISTIO_VERSIONS[*]})" ;;
  esac
}

# istio_charts_dir VERSION: manifests/charts of the pinned Istio module in the Go module cache;
# the charts Istio publishes are these, with the release's version, hub and tag filled in.
istio_charts_dir() {
  local module="istio.io/istio@$(istio_module_version "$1")" info dir
  info="$(cd "$TOOLS_ROOT" && go mod download -json "$module")" || die "the Go module proxy did not give $module"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
  [[ -d "$dir/manifests/charts/base" && -d "$dir/manifests/charts/istio-control/istio-discovery" ]] ||
    die "$module has no manifests/charts/base and manifests/charts/istio-control/istio-discovery"
  echo "$dir/manifests/charts"
}

# helm_template RELEASE CHART OUT ARGS...
helm_template() {
  local release="$1" chart="$2" out="$3"
  shift 3
  "$(helm_bin)" template "$release" "$chart" --namespace "$ISTIO_HELM_NAMESPACE" \
    --kube-version "$ISTIO_HELM_KUBE_VERSION" "$@" >"$out" 2>"$out.log" || {
    cat "$out.log" >&2
    echo "FAIL: helm template $release $chart" >&2
    return 1
  }
}

# render_istio_helm VERSION VALUES OUTDIR: OUTDIR/base.yaml and OUTDIR/istiod.yaml, what
# `helm install istio-base istio/base` and `helm install istiod istio/istiod -f VALUES` (no
# revision) install for Istio VERSION. Hub and tag are set as the published istiod chart has them.
render_istio_helm() {
  local version="$1" values="$2" out="$3" charts
  [[ -f "$values" ]] || die "no Helm values file $values"
  [[ -x "$(helm_bin)" ]] || die "helm $HELM_VERSION is not in the tools cache; install_helm (lib/tools.sh) builds it"
  charts="$(istio_charts_dir "$version")"
  mkdir -p "$out"
  helm_template istio-base "$charts/base" "$out/base.yaml"
  helm_template istiod "$charts/istio-control/istio-discovery" "$out/istiod.yaml" \
    --values "$values" --set global.hub=docker.io/istio --set "global.tag=$version"
}
