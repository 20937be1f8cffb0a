# shellcheck shell=bash
# The components the e2e suite runs, built from source into the conformance suite's tools cache
# with its helpers (build_tool, go_build_in_module, module_hash). Sourced by e2e/run.sh, which
# sets E2E_DIR and CONFORMANCE_DIR.

# shellcheck source=../../conformance/lib/tools.sh
source "$CONFORMANCE_DIR/lib/tools.sh"

CONTROL_PLANE_MODULE="$E2E_DIR/tools/control-plane"
CONTROLLER_MANAGER_MODULE="$E2E_DIR/tools/spire-controller-manager"
ENVOY_STAND_IN_MODULE="$E2E_DIR/tools/envoy-stand-in"
KUBERNETES_VERSION="$(module_version "$CONTROL_PLANE_MODULE" k8s.io/kubernetes)"
E2E_CONTROLLER_MANAGER_VERSION="$(module_version "$CONTROLLER_MANAGER_MODULE" github.com/spiffe/spire-controller-manager)"

control_plane_bin() { echo "$TOOLS_ROOT/kubernetes/$KUBERNETES_VERSION/bin/$1"; }
# istiod's binary, from the same Istio release commit as the istioctl that renders the install.
istiod_bin() { echo "$TOOLS_ROOT/istiod/$ISTIO_NEW_VERSION/bin/pilot-discovery"; }
# istio-proxy's agent, from the same release; it execs envoy_stand_in_bin where Envoy would run.
pilot_agent_bin() { echo "$TOOLS_ROOT/pilot-agent/$ISTIO_NEW_VERSION/bin/pilot-agent"; }
envoy_stand_in_bin() { echo "$TOOLS_ROOT/envoy-stand-in/current/bin/envoy"; }
controller_manager_bin() { echo "$TOOLS_ROOT/spire-controller-manager/$E2E_CONTROLLER_MANAGER_VERSION/bin/spire-controller-manager"; }

# Without these the binaries report v0.0.0-master, and kubectl warns about the version skew.
kubernetes_ldflags() {
  local v="$KUBERNETES_VERSION" minor flags="-s -w" pkg
  minor="$(cut -d. -f2 <<<"$v")"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

install_control_plane() {
  local ldflags
  ldflags="$(kubernetes_ldflags)"
  build_tool kubernetes "$KUBERNETES_VERSION" "go build -ldflags=$ldflags in module $(module_hash "$CONTROL_PLANE_MODULE") $(module_hash "$CONTROL_PLANE_MODULE/etcd")" \
    go_build_in_module "$CONTROL_PLANE_MODULE" "" "$ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy ./etcd
}

go_build_controller_manager() {
  (cd "$CONTROLLER_MANAGER_MODULE" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags="-s -w" \
    -o "$dir/bin/spire-controller-manager" github.com/spiffe/spire-controller-manager/cmd)
}

install_controller_manager() {
  build_tool spire-controller-manager "$E2E_CONTROLLER_MANAGER_VERSION" "go build ./cmd in module $(module_hash "$CONTROLLER_MANAGER_MODULE")" \
    go_build_controller_manager
}

COREDNS_MODULE="$E2E_DIR/tools/coredns"
COREDNS_VERSION="$(module_version "$COREDNS_MODULE" github.com/coredns/coredns)"
coredns_bin() { echo "$TOOLS_ROOT/coredns/$COREDNS_VERSION/bin/coredns"; }

install_coredns() {
  build_tool coredns "$COREDNS_VERSION" "go build in module $(module_hash "$COREDNS_MODULE")" \
    go_build_in_module "$COREDNS_MODULE" "" "-s -w" .
}

# The node's container runtime and network plugins, iptables for kube-proxy and istio-init, the
# files of the busybox images and the compiler of the sandbox image, from Debian's packages.
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables busybox-static gcc libc6-dev)
install_node_packages() {
  local missing=() package
  for package in "${NODE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing: ${missing[*]} (Debian packages)"
    command -v apt-get >/dev/null 2>&1 || die "apt-get is missing; the e2e node needs the Debian packages ${missing[*]}"
    mkdir -p "$TOOLS_ROOT"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$TOOLS_ROOT/apt.log" 2>&1 ||
      { tail -n 20 "$TOOLS_ROOT/apt.log" >&2; die "installing ${missing[*]} failed"; }
  fi
  echo "ok: $(containerd --version | awk '{print "containerd", $3}'), $(runc --version | awk 'NR == 1 {print "runc", $3}'), CNI plugins in /usr/lib/cni"
}

install_istiod() { install_new_istio_binary istiod istio.io/istio/pilot/cmd/pilot-discovery; }
install_pilot_agent() { install_new_istio_binary pilot-agent istio.io/istio/pilot/cmd/pilot-agent; }

# Named envoy, the file name pilot-agent execs (ProxyConfig.binaryPath /usr/local/bin/envoy).
go_build_envoy_stand_in() {
  (cd "$ENVOY_STAND_IN_MODULE" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags="-s -w" -o "$dir/bin/envoy" .)
}

install_envoy_stand_in() {
  build_tool envoy-stand-in current "go build -o envoy in module $(module_hash "$ENVOY_STAND_IN_MODULE")" \
    go_build_envoy_stand_in
}

# shellcheck source=../../conformance/lib/istio-helm.sh
source "$CONFORMANCE_DIR/lib/istio-helm.sh"
# shellcheck source=images.sh
source "$E2E_DIR/lib/images.sh"

install_e2e_tools() {
  require_go
  echo "tools cache: $TOOLS_ROOT"
  install_istioctl_new
  install_helm
  istio_charts_dir "$ISTIO_NEW_VERSION" >/dev/null
  echo "ok: Istio $ISTIO_NEW_VERSION's Helm charts (module cache)"
  install_istiod
  install_pilot_agent
  install_envoy_stand_in
  install_control_plane
  install_spire_cgo
  install_controller_manager
  install_coredns
  install_node_packages
  install_node_image_sources
}
