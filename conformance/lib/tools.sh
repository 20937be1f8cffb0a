# shellcheck shell=bash
# Pinned upstream tools, built from source with the Go toolchain into a cache outside the
# repository. Sourced by conformance/run.sh (which sets CONFORMANCE_DIR).

TOOLS_ROOT="${CDK8S_SPIRE_ISTIO_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-spire-istio/tools}"

# The version a wrapper module's go.mod requires: module_version MODDIR MODULE.
module_version() {
  awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

# istio.io/istio has no semver tags, so the module proxy knows it only by pseudo-versions; each
# pin is the release-branch commit of the named Istio release.
ISTIO_NEW_VERSION=1.31.0
ISTIO_NEW_MODULE_VERSION=v0.0.0-20260827124520-eed52ebb66ad
# Built through conformance/tools/istioctl-1.30 (see the note in its go.mod).
ISTIO_OLD_VERSION=1.30.4
ISTIO_OLD_MODULE_VERSION="$(module_version "$CONFORMANCE_DIR/tools/istioctl-1.30" istio.io/istio)"
ISTIO_VERSIONS=("$ISTIO_NEW_VERSION" "$ISTIO_OLD_VERSION")

SPIRE_VERSION="$(module_version "$CONFORMANCE_DIR/tools/spire" github.com/spiffe/spire)"
SPIRE_CONTROLLER_MANAGER_VERSION="$(module_version "$CONFORMANCE_DIR/clusterspiffeid" github.com/spiffe/spire-controller-manager)"
KUBECTL_VALIDATE_VERSION=v0.0.5-0.20260105161640-a97ccfaca20b
# The Helm that renders Istio's charts; Istio 1.31.0 renders its own charts with the same module.
HELM_VERSION=v4.2.0
KUBERNETES_SCHEMA_VERSION=1.35

GO_MIN_MINOR=25
ISTIO_VERSION_PKG=istio.io/istio/pkg/version

die() {
  echo "FAIL: $*" >&2
  exit 1
}

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed; the conformance suite builds its tools from source and needs Go >= 1.${GO_MIN_MINOR}"
  local version minor
  version="$(go env GOVERSION)"
  minor="$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$version")"
  [[ "$minor" =~ ^[0-9]+$ && "$minor" -ge "$GO_MIN_MINOR" ]] ||
    die "Go ${version} is too old; the conformance suite needs Go >= 1.${GO_MIN_MINOR}"
  echo "ok: Go ${version} (>= 1.${GO_MIN_MINOR})"
}

# The recipe (command line plus any wrapper module's go.mod/go.sum) is stored in the .complete
# marker, so a half-built directory or a changed pin triggers a rebuild.
tool_is_current() {
  [[ -f "$1/.complete" && "$(cat "$1/.complete")" == "$2" ]]
}

# build_tool NAME VERSION RECIPE COMMAND...
# Runs COMMAND (a go install/build writing into $dir/bin; it sees build_tool's $dir) unless NAME/VERSION is already built
# from the same RECIPE. Go's output goes to build.log; its tail is shown on failure.
build_tool() {
  local name="$1" version="$2" recipe="$3"
  shift 3
  local dir="$TOOLS_ROOT/$name/$version"
  if tool_is_current "$dir" "$recipe"; then
    echo "ok: $name $version (cached in $dir)"
    return 0
  fi
  echo "building: $name $version"
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  local start=$SECONDS
  if ! (export CGO_ENABLED=0 GOFLAGS=-buildvcs=false && "$@") >"$dir/build.log" 2>&1; then
    grep -v '^go: downloading' "$dir/build.log" | tail -n 30 >&2
    echo "(full log: $dir/build.log)" >&2
    die "building $name $version failed; the conformance suite needs it"
  fi
  printf '%s' "$recipe" >"$dir/.complete"
  echo "ok: built $name $version in $((SECONDS - start))s"
}

istioctl_bin() { echo "$TOOLS_ROOT/istioctl/$1/bin/istioctl"; }
# SPIRE is built with CGO: only then can spire-server open its sqlite datastore, which the
# scenarios that run real servers and the e2e suite need.
spire_cgo_bin() { echo "$TOOLS_ROOT/spire-cgo/$SPIRE_VERSION/bin/$1"; }
spire_server_bin() { spire_cgo_bin spire-server; }
spire_agent_bin() { spire_cgo_bin spire-agent; }
kubectl_validate_bin() { echo "$TOOLS_ROOT/kubectl-validate/$KUBECTL_VALIDATE_VERSION/bin/kubectl-validate"; }
helm_bin() { echo "$TOOLS_ROOT/helm/$HELM_VERSION/bin/helm"; }
clusterspiffeid_check_bin() { echo "$TOOLS_ROOT/clusterspiffeid-check/current/bin/clusterspiffeid-check"; }
entrygc_bin() { echo "$TOOLS_ROOT/entrygc/$SPIRE_CONTROLLER_MANAGER_VERSION/bin/entrygc"; }

# Same build tags and version stamping as Istio's release build, so `istioctl version` and the
# default image tag are the release's rather than "unknown".
ISTIO_BUILD_TAGS=vtprotobuf,disable_pgv
istio_ldflags() {
  local version="$1" revision="$2" p="$ISTIO_VERSION_PKG"
  echo "-s -w -X $p.buildVersion=$version -X $p.buildTag=$version -X $p.buildHub=docker.io/istio -X $p.buildGitRevision=$revision -X $p.buildStatus=Clean"
}

go_install_istio() {
  GOBIN="$dir/bin" go install -trimpath -tags="$ISTIO_BUILD_TAGS" -ldflags="$1" "$2"
}

# Wrapper modules under conformance/tools carry their own go.mod/go.sum; -mod=readonly keeps
# those pins authoritative. Usage: go_build_in_module MODDIR TAGS LDFLAGS PACKAGE...
go_build_in_module() {
  local moddir="$1" tags="$2" ldflags="$3"
  shift 3
  (cd "$moddir" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -tags="$tags" -ldflags="$ldflags" -o "$dir/bin/" "$@")
}

module_hash() {
  cat "$1/go.mod" "$1/go.sum" "$1"/*.go 2>/dev/null | sha256sum | cut -c1-16
}

# install_new_istio_binary TOOL PACKAGE: a command of the newer pinned Istio release, built as
# Istio's release build does, into TOOL's cache directory.
install_new_istio_binary() {
  local target="$2@$ISTIO_NEW_MODULE_VERSION" ldflags
  ldflags="$(istio_ldflags "$ISTIO_NEW_VERSION" "${ISTIO_NEW_MODULE_VERSION##*-}")"
  build_tool "$1" "$ISTIO_NEW_VERSION" "go install -tags=$ISTIO_BUILD_TAGS -ldflags=$ldflags $target" \
    go_install_istio "$ldflags" "$target"
}

install_istioctl_new() { install_new_istio_binary istioctl istio.io/istio/istioctl/cmd/istioctl; }

install_istioctl_old() {
  local moddir="$CONFORMANCE_DIR/tools/istioctl-1.30" ldflags
  ldflags="$(istio_ldflags "$ISTIO_OLD_VERSION" "${ISTIO_OLD_MODULE_VERSION##*-}")"
  build_tool istioctl "$ISTIO_OLD_VERSION" "go build -tags=$ISTIO_BUILD_TAGS -ldflags=$ldflags in module $(module_hash "$moddir")" \
    go_build_in_module "$moddir" "$ISTIO_BUILD_TAGS" "$ldflags" istio.io/istio/istioctl/cmd/istioctl
}

go_install_plain() {
  GOBIN="$dir/bin" go install -trimpath -ldflags="-s -w" "$@"
}

go_build_spire_with_cgo() {
  CGO_ENABLED=1 go_build_in_module "$CONFORMANCE_DIR/tools/spire" "" "-s -w" \
    github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
}

install_spire_cgo() {
  build_tool spire-cgo "$SPIRE_VERSION" "CGO_ENABLED=1 go build spire-server spire-agent in module $(module_hash "$CONFORMANCE_DIR/tools/spire")" \
    go_build_spire_with_cgo
}

oidc_discovery_provider_bin() { echo "$TOOLS_ROOT/oidc-discovery-provider/$SPIRE_VERSION/bin/oidc-discovery-provider"; }

# The discovery provider is a command of the SPIRE module, built in a wrapper module of its own
# (tools/oidc-discovery-provider) at the same SPIRE pin, so the spire-cgo recipe stays as it is.
go_build_oidc_discovery_provider() {
  go_build_in_module "$CONFORMANCE_DIR/tools/oidc-discovery-provider" "" "-s -w" github.com/spiffe/spire/support/oidc-discovery-provider
}

install_oidc_discovery_provider() {
  local moddir="$CONFORMANCE_DIR/tools/oidc-discovery-provider"
  [[ "$(module_version "$moddir" github.com/spiffe/spire)" == "$SPIRE_VERSION" ]] ||
    die "tools/oidc-discovery-provider pins github.com/spiffe/spire $(module_version "$moddir" github.com/spiffe/spire), tools/spire $SPIRE_VERSION; pin both to the same release"
  build_tool oidc-discovery-provider "$SPIRE_VERSION" "go build oidc-discovery-provider in module $(module_hash "$moddir")" \
    go_build_oidc_discovery_provider
}

install_kubectl_validate() {
  local target="sigs.k8s.io/kubectl-validate@$KUBECTL_VALIDATE_VERSION"
  build_tool kubectl-validate "$KUBECTL_VALIDATE_VERSION" "go install $target" go_install_plain "$target"
}

# Stamped with its version as Helm's release build does, so `helm version` names the pin.
install_helm() {
  local target="helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  local ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
  build_tool helm "$HELM_VERSION" "go install -ldflags=$ldflags $target" \
    go_install_stamped "$ldflags" "$target"
}

go_install_stamped() {
  GOBIN="$dir/bin" go install -trimpath -ldflags="$1" "$2"
}

build_clusterspiffeid_check() {
  (cd "$CONFORMANCE_DIR/clusterspiffeid" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$dir/bin/clusterspiffeid-check" .)
}

install_clusterspiffeid_check() {
  build_tool clusterspiffeid-check current \
    "conformance/clusterspiffeid $(module_hash "$CONFORMANCE_DIR/clusterspiffeid") (spire-controller-manager $SPIRE_CONTROLLER_MANAGER_VERSION)" \
    build_clusterspiffeid_check
}

build_entrygc() {
  (cd "$CONFORMANCE_DIR/clusterspiffeid" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$dir/bin/entrygc" ./entrygc)
}

# A tool of its own, not a second binary of clusterspiffeid-check, so that no build of that tool
# from another checkout removes it.
install_entrygc() {
  build_tool entrygc "$SPIRE_CONTROLLER_MANAGER_VERSION" \
    "conformance/clusterspiffeid $(module_hash "$CONFORMANCE_DIR/clusterspiffeid") entrygc $(module_hash "$CONFORMANCE_DIR/clusterspiffeid/entrygc")" \
    build_entrygc
}

install_tools() {
  install_helm_route_tools
  install_spire_cgo
  install_kubectl_validate
  install_clusterspiffeid_check
  install_entrygc
}

# What the Helm route's checks need: both istioctl releases to inject with, and helm.
install_helm_route_tools() {
  require_go
  echo "tools cache: $TOOLS_ROOT"
  install_istioctl_new
  install_istioctl_old
  install_helm
}
