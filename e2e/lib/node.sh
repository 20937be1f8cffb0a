# shellcheck shell=bash
# A real node for one e2e run: containerd and runc from Debian's packages, the kubelet and
# kube-proxy of the pinned Kubernetes release, CoreDNS as cluster DNS, images imported without a
# registry. Sourced by cluster.sh, which runs in the run's own network namespace and a private
# mount namespace, and sets S, NETNS, NODE, NODE_IP, APISERVER_IP and the helpers start, kc,
# kubeconfig, cert and wait_for.
#
# Every path the output names on the host (/var/lib/kubelet/…, /run/spire/…) and every path the
# kubelet and containerd write (/var/lib, /run, /var/log) is a scratch directory bound over it in
# the run's mount namespace, so nothing is written to the host's fixed paths and runs can go at once.

POD_SUBNET=10.244.0.0/24
CLUSTER_DNS_IP=10.96.0.10
# The sandbox image containerd starts every pod with.
PAUSE_IMAGE=registry.k8s.io/pause:3.10.1
CGROUP_CONTROLLERS=(cpu cpuacct cpuset memory devices freezer blkio pids systemd)

ctr_k8s() { ctr --address /run/containerd/containerd.sock -n k8s.io "$@"; }

# ---- mounts and cgroups -------------------------------------------------------------------------

# sysfs shows the network devices of the namespace that mounts it: remounted here, with the cgroup
# hierarchies carried over. /var/lib, /run and /var/log become scratch directories, shared so
# that mounts made in containers with Bidirectional propagation (the CSI driver's) reach the kubelet.
node_mounts() {
  mkdir -p "$S/mnt/cgroup"
  mount --rbind /sys/fs/cgroup "$S/mnt/cgroup"
  mount -t sysfs sysfs /sys
  mount --rbind "$S/mnt/cgroup" /sys/fs/cgroup
  local dir
  for dir in /var/lib /run /var/log; do
    mkdir -p "$S/host$dir"
    mount --bind "$S/host$dir" "$dir"
    mount --make-rshared "$dir"
  done
}

# The run's cgroup: this shell and everything it starts live in $CGROUP_ROOT/host, the pods in
# $CGROUP_ROOT/kubepods, so stopping the run is killing what is left in one tree.
cgroup_dir() { echo "/sys/fs/cgroup/$1/$CGROUP_ROOT${2:+/$2}"; }

join_run_cgroup() {
  local controller dir
  for controller in "${CGROUP_CONTROLLERS[@]}"; do
    for dir in "$(cgroup_dir "$controller")" "$(cgroup_dir "$controller" host)"; do
      mkdir -p "$dir"
      if [[ "$controller" == cpuset ]]; then
        cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
        cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
      fi
    done
    echo "$BASHPID" >"$(cgroup_dir "$controller" host)/cgroup.procs"
  done
  echo $((1024 * ${RUN_CPU_WEIGHT:-1})) >"$(cgroup_dir cpu)/cpu.shares"
}

# remove_run_cgroup ROOT: kills every process left in the cgroup tree ROOT (this shell first
# leaves it) and removes the tree. Also run by e2e/run.sh after a run, in case it was killed.
remove_run_cgroup() {
  local root="$1" controller tries pids
  for controller in "${CGROUP_CONTROLLERS[@]}"; do
    [[ -d "/sys/fs/cgroup/$controller/$root" ]] && echo "$BASHPID" >"/sys/fs/cgroup/$controller/cgroup.procs" 2>/dev/null
  done
  [[ -d "/sys/fs/cgroup/pids/$root" ]] || return 0
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    pids="$(find "/sys/fs/cgroup/pids/$root" -name cgroup.procs -exec cat {} + 2>/dev/null)"
    [[ -n "$pids" ]] || break
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
  # unified: the cgroup v2 hierarchy beside the v1 controllers, where runc names the run's tree too.
  for controller in "${CGROUP_CONTROLLERS[@]}" unified; do
    [[ -d "/sys/fs/cgroup/$controller/$root" ]] &&
      find "/sys/fs/cgroup/$controller/$root" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

# ---- containerd and images ----------------------------------------------------------------------

write_containerd_config() {
  mkdir -p "$S/node/cni" "$S/node/containerd"
  # restrict_oom_score_adj: the machine's bounding set lacks CAP_SYS_RESOURCE, so runc must not
  # lower a container's OOM score below containerd's own.
  cat >"$S/node/containerd/config.toml" <<EOF
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[ttrpc]
  address = "/run/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$S/node/cni"
EOF
  # Every pod gets a veth pair routed from the node: traffic between pods, and to Service IPs that
  # kube-proxy translates, goes through the node's routing and netfilter.
  cat >"$S/node/cni/10-e2e.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "e2e", "plugins": [
  {"type": "ptp", "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
]}
EOF
}

image_store_failed() { [[ -e "$IMAGE_STORE.failed" ]] && echo "the suite could not make the node images (see == images)"; }

start_containerd() {
  write_containerd_config
  wait_or_give_up 120 "the node images in $IMAGE_STORE" image_store_failed -- test -e "$IMAGE_STORE.ready" || return 1
  clone_image_store "$IMAGE_STORE"
  start containerd containerd --config "$S/node/containerd/config.toml"
  wait_for 30 "containerd to serve its API" ctr_k8s version
  images_imported
}

# seed_image_store ARCHIVES_DIR STORE_DIR: every image archive (an OCI image layout named with
# the reference the output uses) imported and unpacked once, by a containerd of its own on
# STORE_DIR, for every run's containerd to start from (clone_image_store). Run by e2e/run.sh,
# in a mount namespace of its own.
seed_image_store() {
  local archives="$1" store="$2" pid status=0
  mkdir -p "$store/root" "$store/state"
  cat >"$store/config.toml" <<EOF
version = 2
root = "$store/root"
state = "$store/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$store/containerd.sock"
[ttrpc]
  address = "$store/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$store/opt"
EOF
  containerd --config "$store/config.toml" >"$store/containerd.log" 2>&1 &
  pid=$!
  import_archives "$archives" "$store" || status=$?
  kill "$pid"
  wait "$pid" || true
  return "$status"
}

# import_archives ARCHIVES_DIR STORE_DIR: once the store's containerd answers, each archive into it.
import_archives() {
  local tries=0 archive
  until ctr --address "$2/containerd.sock" version >/dev/null 2>&1; do
    ((++tries < 100)) || { tail -n 5 "$2/containerd.log"; return 1; }
    sleep 0.2
  done
  for archive in "$1"/*.tar; do
    ctr --address "$2/containerd.sock" -n k8s.io images import --snapshotter overlayfs "$archive" >/dev/null ||
      { echo "ctr images import $(basename "$archive") failed"; return 1; }
  done
}

# clone_image_store STORE_DIR: the run's containerd root made from the seeded store, its files
# hard links (image layers are only ever read: a container writes to a snapshot of its own), its
# databases copies; instead of importing and unpacking half a gigabyte of images in every run.
# Done through the scratch directory's own path: a hard link cannot cross a bind mount.
clone_image_store() {
  local root="$S/host/var/lib/containerd" db
  rm -rf "$root"
  cp -al "$1/root" "$root"
  while read -r db; do
    cp --remove-destination "$1/root/$db" "$root/$db"
  done < <(cd "$1/root" && find . -name '*.db')
}

images_imported() {
  log "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR == 1 {print $3}'): $(ctr_k8s images ls -q | grep -vc "^sha256:") images from the seeded store, none pulled"
}

# ---- kubelet, kube-proxy, cluster DNS -----------------------------------------------------------

# The kubelet's client certificate is signed by the cluster CA; its serving certificate is the
# self-signed one it makes itself, as on most clusters (hence the output's kubelet verification
# setting).
node_certificates() {
  cert kubelet "/O=system:nodes/CN=system:node:$NODE" "extendedKeyUsage=clientAuth"
  cert kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
  kubeconfig kubelet
  kubeconfig kube-proxy
}

write_kubelet_config() {
  : >"$S/node/resolv.conf"
  cat >"$S/node/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: /$CGROUP_ROOT
enforceNodeAllocatable: [pods]
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $S/pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $S/node/resolv.conf
imageGCHighThresholdPercent: 100
# The node's disk is the host's, shared with all else on it: evict when a run would really run out,
# not below Kubernetes' default shares of a disk the run does not own.
evictionHard: {memory.available: 100Mi, nodefs.available: 1Gi, imagefs.available: 1Gi, nodefs.inodesFree: 5%, imagefs.inodesFree: 5%}
volumePluginDir: /var/lib/kubelet/volume-plugins
serializeImagePulls: false
maxPods: $NODE_MAX_PODS
EOF
}

node_ready() { api_get "/api/v1/nodes/$NODE" >"$S/node.json" && [[ "$(pods_js condition "$S/node.json" Ready)" == True ]]; }

start_kubelet() {
  node_certificates
  write_kubelet_config
  start kubelet "$(control_plane_bin kubelet)" --config "$S/node/kubelet.yaml" --kubeconfig "$S/kubelet.kubeconfig" \
    --hostname-override "$NODE" --node-ip "$NODE_IP"
  wait_or_give_up "$WAIT" "node $NODE to be Ready" exited kubelet -- node_ready || { log_errors kubelet; return 1; }
}

start_kube_proxy() {
  # conntrack limits are the machine's, not the run's: left as they are.
  cat >"$S/node/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $S/kube-proxy.kubeconfig}
hostnameOverride: $NODE
clusterCIDR: $POD_SUBNET
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "$(control_plane_bin kube-proxy)" --config "$S/node/kube-proxy.yaml"
  wait_or_give_up "$WAIT" "kube-proxy to sync its rules" exited kube-proxy -- curl -fsS http://127.0.0.1:10256/healthz
}

# Cluster DNS for the pods: Service and pod names of cluster.local, and the partners' bundle
# endpoints when the run federates; any other name gets an answer at once (no upstream), as
# there is no network beyond the run's namespaces.
start_cluster_dns() {
  ip addr add "$CLUSTER_DNS_IP/32" dev lo
  local hosts_file address host
  # Each partner's bundle endpoint name is a zone of its own, answered from the hosts file.
  if hosts_file="$(federation_hosts_file)"; then
    while read -r address host; do
      printf '%s:53 {\n    bind %s\n    hosts %s\n}\n' "$host" "$CLUSTER_DNS_IP" "$hosts_file"
    done <"$hosts_file" >"$S/node/Corefile"
  fi
  cat >>"$S/node/Corefile" <<EOF
.:53 {
    bind $CLUSTER_DNS_IP
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $S/admin.kubeconfig e2e
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
}
EOF
  start coredns "$(coredns_bin)" -conf "$S/node/Corefile"
  wait_or_give_up "$WAIT" "CoreDNS to be ready" exited coredns -- curl -fsS http://127.0.0.1:18181/ready
}

start_node() {
  start_containerd
  start_kubelet
  start_kube_proxy
  start_cluster_dns
  log "node $NODE Ready: kubelet $KUBERNETES_VERSION (cgroup root /$CGROUP_ROOT), kube-proxy (iptables), CoreDNS $CLUSTER_DNS_IP"
}
