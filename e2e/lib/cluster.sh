# shellcheck shell=bash
# One run of the synthesized output against a real control plane and real SPIRE processes.
# Runs inside the private network namespace e2e/run.sh creates:
#   bash cluster.sh MANIFEST_DIR SCRATCH_DIR NETNS   (NETNS: the name of that namespace)
# Prints "PASS: <check>" / "FAIL: <check>" lines; exits non-zero when a stage fails.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFORMANCE_DIR="$(dirname "$E2E_DIR")/conformance"
# shellcheck source=tools.sh
source "$E2E_DIR/lib/tools.sh"
# shellcheck source=../../conformance/lib/checks.sh
source "$CONFORMANCE_DIR/lib/checks.sh"

DIR="$1"
S="$2"
NETNS="$3"
NODES=(e2e-node-1 e2e-node-2)
APISERVER_IP=10.200.0.10
SERVICE_CIDR=10.96.0.0/16
FIRST_SERVICE_IP=10.96.0.1
# Node and pod IPs are /32 addresses on the namespace's loopback interface.
NODE_IP_PREFIX=10.200.0.
POD_IP_PREFIX=10.200.1.
# Seconds any one wait may take; generous for a loaded 2-core machine.
WAIT=90

kc() { "$(control_plane_bin kubectl)" --kubeconfig "$S/admin.kubeconfig" "$@"; }
pods_js() { node "$E2E_DIR/lib/pods.js" "$@"; }
log() { echo "  $*"; }

# Stops every started process by PID: all asked at once, any still running after 10 s killed.
stop_all() {
  local pids=() pid
  mapfile -t pids < <(cat "$S/pids" 2>/dev/null)
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  done
  local netns
  for netns in $(cat "$S/netns" 2>/dev/null); do ip netns delete "$netns" 2>/dev/null || true; done
}
trap stop_all EXIT

# start NAME COMMAND...: a background process, logged to $S/logs/NAME.log, stopped by PID at exit.
start() {
  local name="$1"
  shift
  "$@" >"$S/logs/$name.log" 2>&1 &
  echo $! >>"$S/pids"
  echo $! >"$S/logs/$name.pid"
}

# wait_or_give_up SECONDS WHAT GIVE_UP... -- COMMAND...: wait_for, but fails at once when the
# GIVE_UP command succeeds (the awaited state can no longer come), with its last line of output.
wait_or_give_up() {
  local seconds="$1" what="$2" deadline=$(($1 + SECONDS)) give_up=()
  shift 2
  while [[ "$1" != -- ]]; do give_up+=("$1"); shift; done
  shift
  until "$@" >/dev/null 2>&1; do
    if "${give_up[@]}" >"$S/give-up.out" 2>&1; then
      echo "FAIL: gave up waiting for $what: $(tail -n 1 "$S/give-up.out")"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "FAIL: timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 1
  done
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND once a second; fails naming WHAT on timeout.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  wait_or_give_up "$seconds" "$what" false -- "$@"
}

# exited NAME: the process start NAME began has ended.
exited() {
  ! kill -0 "$(cat "$S/logs/$1.pid")" 2>/dev/null && echo "$1 exited: $(log_errors "$1" 1)"
}

# Lines of a log that explain a failure: errors and warnings, without the noise of retries.
log_errors() { grep -E -i 'level=(error|warning)|error|forbidden|denied' "$S/logs/$1.log" | tail -n "${2:-8}" | sed "s/^/    $1: /" || true; }

# ---- certificates -------------------------------------------------------------------------------

cert() {
  local name="$1" subject="$2" ext="$3"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$S/pki/$name.key" -subj "$subject" -out "$S/pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$S/pki/$name.ext"
  openssl x509 -req -in "$S/pki/$name.csr" -CA "$S/pki/ca.crt" -CAkey "$S/pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$S/pki/$name.ext" -out "$S/pki/$name.crt" 2>/dev/null
}

make_pki() {
  mkdir -p "$S/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$S/pki/ca.key" -subj "/CN=e2e-ca" -days 2 -out "$S/pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,IP:$APISERVER_IP,IP:$FIRST_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  cert admin "/O=system:masters/CN=e2e-admin" "extendedKeyUsage=clientAuth"
  cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  openssl genrsa -out "$S/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$S/pki/sa.key" -pubout -out "$S/pki/sa.pub" 2>/dev/null
}

# kubeconfig NAME: client-certificate kubeconfig for $S/pki/NAME.{crt,key}; token_kubeconfig
# FILE TOKEN for a service account token.
kubeconfig_with() {
  local file="$1"
  shift
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "https://$APISERVER_IP:6443", certificate-authority: "$S/pki/ca.crt"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: u}}]
current-context: e2e
users: [{name: u, user: {$*}}]
EOF
}
kubeconfig() { kubeconfig_with "$S/$1.kubeconfig" "client-certificate: \"$S/pki/$1.crt\", client-key: \"$S/pki/$1.key\""; }

# ---- control plane ------------------------------------------------------------------------------

network() {
  ip link set lo up
  sysctl -qw net.ipv4.ip_forward=1
  ip addr add "$APISERVER_IP/32" dev lo
  local i
  for i in "${!NODES[@]}"; do ip addr add "$NODE_IP_PREFIX$((i + 1))/32" dev lo; done
}

start_control_plane() {
  start etcd "$(control_plane_bin etcd)" --data-dir "$S/etcd" --unsafe-no-fsync \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
  wait_for 30 "etcd to be healthy" curl -fsS http://127.0.0.1:2379/health
  start kube-apiserver "$(control_plane_bin kube-apiserver)" --etcd-servers http://127.0.0.1:2379 \
    --bind-address "$APISERVER_IP" --secure-port 6443 --advertise-address "$APISERVER_IP" \
    --tls-cert-file "$S/pki/apiserver.crt" --tls-private-key-file "$S/pki/apiserver.key" --client-ca-file "$S/pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --service-account-key-file "$S/pki/sa.pub" \
    --service-account-signing-key-file "$S/pki/sa.key" --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
    --enable-aggregator-routing=true
  kubeconfig admin
  kubeconfig controller-manager
  kubeconfig scheduler
  wait_for "$WAIT" "kube-apiserver /readyz" kc get --raw /readyz
  start kube-controller-manager "$(control_plane_bin kube-controller-manager)" --kubeconfig "$S/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --use-service-account-credentials --service-account-private-key-file "$S/pki/sa.key" \
    --root-ca-file "$S/pki/ca.crt" --cluster-signing-cert-file "$S/pki/ca.crt" --cluster-signing-key-file "$S/pki/ca.key" \
    --leader-elect=false \
    --controllers '*,-node-lifecycle-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller'
  start kube-scheduler "$(control_plane_bin kube-scheduler)" --kubeconfig "$S/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
  wait_for "$WAIT" "the default service account (controller manager up)" kc -n default get serviceaccount default
  log "control plane $KUBERNETES_VERSION up: etcd, kube-apiserver, kube-controller-manager, kube-scheduler"
}

# Nodes as a kubelet would register them; nothing renews their leases, so the lifecycle controller
# is off and the not-ready taint the API server adds at creation is removed.
create_nodes() {
  local i node
  for i in "${!NODES[@]}"; do
    node="${NODES[$i]}"
    kc create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata: {name: $node, labels: {kubernetes.io/hostname: $node, kubernetes.io/os: linux}}
EOF
    kc patch node "$node" --subresource=status --type=merge -p "{\"status\":{
      \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"$(date -u +%FT%TZ)\",\"lastTransitionTime\":\"$(date -u +%FT%TZ)\"}],
      \"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$NODE_IP_PREFIX$((i + 1))\"},{\"type\":\"Hostname\",\"address\":\"$node\"}],
      \"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},
      \"nodeInfo\":{\"kubeletVersion\":\"$KUBERNETES_VERSION\",\"architecture\":\"amd64\",\"operatingSystem\":\"linux\",\"machineID\":\"\",\"systemUUID\":\"\",\"bootID\":\"\",\"kernelVersion\":\"\",\"osImage\":\"\",\"containerRuntimeVersion\":\"\",\"kubeProxyVersion\":\"\"}}}" >/dev/null
    kc taint node "$node" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  done
  log "nodes ${NODES[*]} Ready and untainted"
}

# A PersistentVolume for every claim the output's StatefulSets make (no provisioner here).
create_volumes() {
  local claim size
  while read -r claim size; do
    mkdir -p "$S/volumes/$claim"
    kc create -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-$claim}
spec: {capacity: {storage: $size}, accessModes: [ReadWriteOnce], hostPath: {path: "$S/volumes/$claim"}}
EOF
    log "PersistentVolume e2e-$claim ($size) for claim template $claim"
  done < <(grep -h -A12 'volumeClaimTemplates:' "$DIR"/*.k8s.yaml | awk '/name:/ && !n {n=$2} /storage:/ {print n, $2; n=""}')
}

# ---- applying, the README's order ---------------------------------------------------------------

# apply FILE [recheck]: kubectl apply; any API warning fails the step. With recheck, the re-apply
# checks apply FILE again.
apply() {
  kc apply -f "$1" >"$S/apply.out" 2>"$S/apply.err" || { cat "$S/apply.out" "$S/apply.err"; echo "FAIL: kubectl apply -f $(basename "$1") was rejected"; return 1; }
  log "kubectl apply -f $(basename "$1"): $(wc -l <"$S/apply.out") objects"
  if grep -q '^Warning:' "$S/apply.err"; then
    sed 's/^/    /' "$S/apply.err"
    echo "FAIL: the API server warned while applying $(basename "$1")"
    return 1
  fi
  [[ "${2:-}" != recheck ]] || echo "$1" >>"$S/applied"
}

apply_crds() {
  apply "$DIR/0000-crds.k8s.yaml" recheck
  # shellcheck disable=SC2046
  kc wait --for condition=established --timeout=60s $(pods_js crd-names "$DIR")
}

# ---- pods: what a kubelet and container runtime would do ----------------------------------------

# pod_status NS POD READY: gives the pod an IP on lo (once) and writes its status.
pod_status() {
  local ns="$1" pod="$2" ready="$3" ip host_ip n
  ip="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.podIP}')"
  if [[ -z "$ip" ]]; then
    n=$(($(cat "$S/pod-ips" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$S/pod-ips"
    ip="$POD_IP_PREFIX$n"
    ip addr add "$ip/32" dev lo
  fi
  host_ip="$(kc get node "$(kc -n "$ns" get pod "$pod" -o jsonpath='{.spec.nodeName}')" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
  kc -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "$(pods_js pod-status "$ip" "$host_ip" "$ready")" >/dev/null
}

scheduled_pods() { kc -n "$1" get pods -l "$2" -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.name}{"\n"}{end}'; }
count_scheduled() { [[ "$(scheduled_pods "$1" "$2" | grep -c .)" -ge "$3" ]]; }

# Pods the suite runs no process for (no container runtime): bound by the scheduler, marked running.
mark_running() {
  local ns="$1" pod
  for pod in $(kc -n "$ns" get pods -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.name}{" "}{.status.phase}{"\n"}{end}' | awk '$2 != "Running" {print $1}'); do
    pod_status "$ns" "$pod" true
  done
}

# volume_object NS KIND NAME OPTIONAL OUT: the ConfigMap or Secret a volume shows, as JSON in OUT; an
# optional one that does not exist gives an empty volume, as the kubelet does.
volume_object() {
  local ns="$1" kind="$2" name="$3" optional="$4" out="$5"
  if ! kc -n "$ns" get "$kind" "$name" -o json >"$out" 2>"$out.err"; then
    [[ "$optional" == optional ]] && grep -q NotFound "$out.err" || { cat "$out.err"; return 1; }
    echo '{}' >"$out"
  fi
}

# materialize PLAN: fills each mount's scratch directory as the kubelet fills the volume.
materialize() {
  local plan="$1" kind mount_path dir name audience seconds file optional sa ns pod uid
  sa="$(pods_js field "$plan" serviceAccount)"
  ns="$(pods_js field "$plan" namespace)"
  pod="$(pods_js field "$plan" pod)"
  uid="$(pods_js field "$plan" uid)"
  while IFS='|' read -r kind mount_path dir name audience seconds file optional; do
    case "$kind" in
      configMap | secret)
        volume_object "$ns" "$kind" "$name" "$optional" "$S/volume.json"
        pods_js write-volume "$S/volume.json" "$dir" >/dev/null ;;
      emptyDir | hostPath | csi) mkdir -p "$dir" ;;
      claim)
        echo "claim $name: mounted through its PersistentVolume" ;;
      token)
        mkdir -p "$dir"
        kc -n "$ns" create token "$sa" --audience "$audience" --duration "${seconds}s" \
          --bound-object-kind Pod --bound-object-name "$pod" --bound-object-uid "$uid" >"$dir/$file" ;;
      serviceAccount)
        mkdir -p "$dir"
        kc -n "$ns" create token "$sa" --duration 1h --bound-object-kind Pod --bound-object-name "$pod" --bound-object-uid "$uid" >"$dir/token"
        cp "$S/pki/ca.crt" "$dir/ca.crt"
        printf '%s' "$ns" >"$dir/namespace" ;;
    esac
  done < <(pods_js mounts "$plan")
}

# root_with_mounts PLAN ROOT: a working directory laid out like the container's root for the
# mounts, since some programs open their files by paths relative to the working directory.
root_with_mounts() {
  local plan="$1" root="$2" mount_path dir
  while IFS='|' read -r mount_path dir; do
    mkdir -p "$root$(dirname "$mount_path")"
    ln -sfn "$dir" "$root$mount_path"
  done < <(pods_js root-links "$plan")
}

# pod_network POD IP: a network namespace of the pod's own, reached over a veth pair from the
# cluster's namespace, so its containers can bind any address and port as in a real pod. The
# IP moves there from the cluster namespace's loopback. Prints the namespace's name.
pod_network() {
  local pod="$1" ip="$2" n
  local netns="$NETNS-$pod" n="${ip##*.}"
  if [[ ! -e "/run/netns/$netns" ]]; then
    ip netns add "$netns"
    echo "$netns" >>"$S/netns"
    ip addr del "$ip/32" dev lo
    ip link add "pod$n" type veth peer name eth0 netns "$netns"
    # The cluster's side answers ARP for every address it routes, as pod networks' routers do.
    sysctl -qw "net.ipv4.conf.pod$n.proxy_arp=1"
    ip link set "pod$n" up
    ip route add "$ip/32" dev "pod$n"
    ip -n "$netns" link set lo up
    ip -n "$netns" link set eth0 up
    ip -n "$netns" addr add "$ip/32" dev eth0
    ip -n "$netns" route add default dev eth0
  fi
  echo "$netns"
}

# A claim mount's scratch directory is its PersistentVolume's path.
resolve_claims() {
  local plan="$1" ns claim volume
  ns="$(pods_js field "$plan" namespace)"
  for claim in $(pods_js mounts "$plan" | awk -F'|' '$1 == "claim" {print $4}'); do
    volume="$(kc -n "$ns" get pvc "$claim" -o jsonpath='{.spec.volumeName}')"
    [[ -n "$volume" ]] || { echo "FAIL: claim $ns/$claim is not bound"; return 1; }
    pods_js bind-claim "$plan" "$claim" "$(kc get pv "$volume" -o jsonpath='{.spec.hostPath.path}')"
  done
}

# run_container NS POD CONTAINER ENTRYPOINT...: runs the container's image entrypoint (the built
# binary and its fixed arguments) with the container from the pod as the API server holds it: its
# args, env and volumes, mount paths remapped to scratch directories, in a private mount namespace
# holding its service account volume and the hosts and resolv.conf files standing in for cluster DNS, with a working
# directory laid out like the container's root. A pod without hostNetwork gets its own network
# namespace.
run_container() {
  local ns="$1" pod="$2" container="$3"
  local entrypoint=("${@:4}")
  local pod_dir="$S/pods/$pod" node plan
  node="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.spec.nodeName}')"
  mkdir -p "$pod_dir"
  plan="$pod_dir/$container.plan.json"
  kc -n "$ns" get pod "$pod" -o json >"$pod_dir/pod.json"
  kc get node "$node" -o json >"$pod_dir/node.json"
  pods_js plan "$pod_dir/pod.json" "$pod_dir/node.json" "$container" "$pod_dir" "$S/nodes/$node" >"$plan"
  resolve_claims "$plan"
  materialize "$plan"
  root_with_mounts "$plan" "$pod_dir/$container.root"
  local configs=()
  mapfile -t configs < <(pods_js mounts "$plan" | awk -F'|' '$1 == "configMap" {print $3}' | xargs -r -I{} find {} -type f)
  [[ ${#configs[@]} -eq 0 ]] || pods_js remap "$plan" "${configs[@]}"
  local args=() env=() network=()
  mapfile -t args < <(pods_js remapped-args "$plan")
  mapfile -t env < <(pods_js field "$plan" env)
  [[ "$(pods_js field "$plan" hostNetwork)" == true ]] ||
    network=(ip netns exec "$(pod_network "$pod" "$(pods_js field "$plan" podIP)")")
  local sa_dir
  sa_dir="$(pods_js mounts "$plan" | awk -F'|' '$1 == "serviceAccount" {print $3}')"
  start "$pod.$container" "${network[@]}" unshare -m bash -c '
    set -e
    mount --make-rprivate /
    mount -t tmpfs tmpfs /run
    if [[ -n "$1" ]]; then
      mkdir -p /run/secrets/kubernetes.io/serviceaccount
      mount --bind "$1" /run/secrets/kubernetes.io/serviceaccount
    fi
    mount --bind "$2" /etc/hosts
    mount --bind "$3" /etc/resolv.conf
    cd "$4"
    shift 4
    exec "$@"' _ "$sa_dir" "$S/hosts" "$S/resolv.conf" "$pod_dir/$container.root" env -i PATH="$PATH" KUBERNETES_SERVICE_HOST="$APISERVER_IP" \
    KUBERNETES_SERVICE_PORT=6443 "${env[@]}" "${entrypoint[@]}" "${args[@]}"
  pods_js field "$plan" readiness >"$pod_dir/$container.readiness"
  log "started $ns/$pod container $container: $(basename "${entrypoint[0]}") ${entrypoint[*]:1} ${args[*]}"
}

ready_url() { curl -fsS --max-time 2 "$(cat "$S/pods/$1/$2.readiness")"; }

# Cluster DNS stand-in: Service names resolve to the IP of their first ready endpoint. Any other
# lookup goes to a name server on the pod's loopback that is not there, so it fails at once
# instead of waiting out the timeouts of one that cannot be reached.
write_hosts() {
  echo "nameserver 127.0.0.1" >"$S/resolv.conf"
  {
    echo "127.0.0.1 localhost"
    kc get endpointslices -A -o jsonpath='{range .items[*]}{.metadata.labels.kubernetes\.io/service-name}.{.metadata.namespace}.svc {.endpoints[0].addresses[0]}{"\n"}{end}' |
      awk 'NF == 2 {print $2, $1 ".cluster.local", $1}'
  } >"$S/hosts"
}

# ---- SPIRE --------------------------------------------------------------------------------------

start_spire_server() {
  local pod=spire-server-0
  wait_for "$WAIT" "pod spire-server/$pod to be scheduled (its claim bound to a PersistentVolume)" \
    count_scheduled spire-server app.kubernetes.io/name=spire-server 1
  pod_status spire-server "$pod" false
  write_hosts
  # The images' entrypoints: `spire-server run`, `spire-agent run`, the controller manager binary.
  run_container spire-server "$pod" spire-server "$(spire_cgo_bin spire-server)" run
  run_container spire-server "$pod" spire-controller-manager "$(controller_manager_bin)"
  if ! wait_or_give_up "$WAIT" "the spire-server readiness probe" exited "$pod.spire-server" -- ready_url "$pod" spire-server ||
    ! wait_or_give_up "$WAIT" "the spire-controller-manager readiness probe" exited "$pod.spire-controller-manager" -- ready_url "$pod" spire-controller-manager; then
    log_errors "$pod.spire-server"
    log_errors "$pod.spire-controller-manager"
    return 1
  fi
  pod_status spire-server "$pod" true
  kc -n spire-server rollout status statefulset/spire-server --timeout=180s
}

server_cli() {
  "$(spire_cgo_bin spire-server)" "$@" -socketPath "$(find "$S/pods/spire-server-0" -name 'api.sock' -type s | head -n 1)"
}

bundle_published() {
  local ns name key
  IFS=/ read -r ns name key <<<"$BUNDLE_CONFIGMAP"
  [[ -n "$(kc -n "$ns" get configmap "$name" -o jsonpath="{.data.${key//./\\.}}")" ]]
}

check_bundle_published() {
  [[ -n "$BUNDLE_CONFIGMAP" ]] || { echo "FAIL: server.conf configures no k8s_configmap BundlePublisher"; return 1; }
  wait_for "$WAIT" "the server to publish its trust bundle to ConfigMap $BUNDLE_CONFIGMAP" bundle_published || {
    log_errors spire-server-0.spire-server
    return 1
  }
  local ns name key published served
  IFS=/ read -r ns name key <<<"$BUNDLE_CONFIGMAP"
  published="$(kc -n "$ns" get configmap "$name" -o jsonpath="{.data.${key//./\\.}}" | node -e 'const b = JSON.parse(require("fs").readFileSync(0)); console.log(b.keys.filter((k) => k.use === "x509-svid").map((k) => k.x5c[0]).sort().join(","))')"
  served="$(server_cli bundle show -format spiffe | node -e 'const b = JSON.parse(require("fs").readFileSync(0)); console.log(b.keys.filter((k) => k.use === "x509-svid").map((k) => k.x5c[0]).sort().join(","))')"
  [[ -n "$published" && "$published" == "$served" ]] || { echo "FAIL: ConfigMap $BUNDLE_CONFIGMAP does not hold the server's X.509 authorities"; return 1; }
  log "ConfigMap $BUNDLE_CONFIGMAP holds the server's X.509 authorities (spire-server bundle show)"
}

agent_pod_on() { kc -n spire-system get pods -l app.kubernetes.io/name=spire-agent --field-selector "spec.nodeName=$1" -o jsonpath='{.items[0].metadata.name}'; }
agent_id_of() { echo "spiffe://$TRUST_DOMAIN/spire/agent/k8s_psat/$AGENT_CLUSTER/$(kc get node "$1" -o jsonpath='{.metadata.uid}')"; }
agent_attested() { server_cli agent show -spiffeID "$1"; }

# attestation_refused POD: the agent has exited, or the server answered its attestation with a
# refusal (anything but Unavailable), which retrying cannot change.
attestation_refused() {
  exited "$1.spire-agent" ||
    grep 'Failed to retrieve attestation result' "$S/logs/$1.spire-agent.log" | grep -v -m 1 'code = Unavailable'
}

start_agents() {
  wait_for "$WAIT" "one spire-agent pod per node" count_scheduled spire-system app.kubernetes.io/name=spire-agent "${#NODES[@]}"
  write_hosts
  local node pod
  for node in "${NODES[@]}"; do
    pod="$(agent_pod_on "$node")"
    pod_status spire-system "$pod" false
    run_container spire-system "$pod" spire-agent "$(spire_cgo_bin spire-agent)" run
  done
  for node in "${NODES[@]}"; do
    pod="$(agent_pod_on "$node")"
    if ! wait_or_give_up "$WAIT" "the agent on $node to attest as $(agent_id_of "$node")" attestation_refused "$pod" -- agent_attested "$(agent_id_of "$node")"; then
      log_errors "$pod.spire-agent"
      log_errors spire-server-0.spire-server
      return 1
    fi
    wait_for "$WAIT" "agent $pod readiness probe" ready_url "$pod" spire-agent || { log_errors "$pod.spire-agent"; return 1; }
    pod_status spire-system "$pod" true
    log "agent $pod on $node attested as $(agent_id_of "$node")"
  done
  kc -n spire-system rollout status daemonset/spire-agent --timeout=180s
}

check_agents_psat() {
  server_cli agent list -output json >"$S/agents.json"
  local node id
  for node in "${NODES[@]}"; do
    id="$(agent_id_of "$node")"
    pods_js agents "$S/agents.json" | grep -qx "$id k8s_psat" || { echo "FAIL: agent list has no $id attested with k8s_psat"; pods_js agents "$S/agents.json"; return 1; }
    log "agent list: $id k8s_psat"
  done
}

# serves_metrics NS POD CONTAINER PREFIX: the container's port named for metrics answers
# /metrics at the pod IP, from outside the pod, with series of that prefix.
serves_metrics() {
  local ns="$1" pod="$2" container="$3" prefix="$4" ip port body="$S/pods/$2/$3.metrics"
  kc -n "$ns" get pod "$pod" -o json >"$S/pods/$pod/pod.json"
  ip="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.podIP}')"
  port="$(pods_js metrics-port "$S/pods/$pod/pod.json" "$container")" || return 1
  if ! curl -fsS --max-time 5 -o "$body" "http://$ip:$port/metrics" || ! grep -q "^$prefix" "$body"; then
    echo "FAIL: $ns/$pod container $container: http://$ip:$port/metrics has no ${prefix} series"
    log_errors "$pod.$container"
    return 1
  fi
  log "$ns/$pod $container: http://$ip:$port/metrics answers with $(grep -c "^$prefix" "$body") ${prefix} samples"
}

check_metrics() {
  serves_metrics spire-server spire-server-0 spire-server spire_ || return 1
  serves_metrics spire-server spire-server-0 spire-controller-manager controller_runtime_ || return 1
  local node
  for node in "${NODES[@]}"; do
    serves_metrics spire-system "$(agent_pod_on "$node")" spire-agent spire_ || return 1
  done
}

# ---- Istio --------------------------------------------------------------------------------------

# The objects istioctl install creates, from `istioctl manifest generate`, applied as it does:
# the namespace, the CRDs (waited for), then the rest.
install_istio() {
  local iop="$S/istio/istio-operator.yaml"
  mkdir -p "$S/istio"
  node "$CONFORMANCE_DIR/lib/extract.js" istio-operator "$DIR" "$iop" >/dev/null
  "$(istioctl_bin "$ISTIO_NEW_VERSION")" manifest generate -f "$iop" --set hub=docker.io/istio --set "tag=$ISTIO_NEW_VERSION" \
    >"$S/istio/generated.yaml" 2>"$S/istio/generate.log" || { cat "$S/istio/generate.log"; return 1; }
  kc create namespace istio-system >/dev/null
  node -e '
    const { loadFile } = require(process.argv[1]); const YAML = require("yaml"); const fs = require("fs");
    const all = loadFile(process.argv[2]).map((e) => e.obj);
    const crd = (o) => o.kind === "CustomResourceDefinition";
    fs.writeFileSync(process.argv[3], all.filter(crd).map((o) => YAML.stringify(o)).join("---\n"));
    fs.writeFileSync(process.argv[4], all.filter((o) => !crd(o)).map((o) => YAML.stringify(o)).join("---\n"));' \
    "$CONFORMANCE_DIR/lib/manifests.js" "$S/istio/generated.yaml" "$S/istio/crds.yaml" "$S/istio/objects.yaml"
  kc apply --server-side -f "$S/istio/crds.yaml" >/dev/null
  kc wait --for condition=established --timeout=60s -f "$S/istio/crds.yaml" >/dev/null
  kc apply --server-side -f "$S/istio/objects.yaml" >/dev/null
  log "istioctl $ISTIO_NEW_VERSION manifest generate: $(grep -c '^kind:' "$S/istio/generated.yaml") objects applied"
}

injector_ca_bundle() { kc get mutatingwebhookconfiguration -l app=sidecar-injector -o jsonpath='{.items[*].webhooks[*].clientConfig.caBundle}'; }

# istiod from the Deployment the install created, as its pod: it creates its CA, serves the
# sidecar injector's webhook and writes that webhook's caBundle, as `istioctl install` waits for.
start_istiod() {
  local pod
  wait_for "$WAIT" "the istiod pod to be scheduled" count_scheduled istio-system app=istiod 1
  pod="$(scheduled_pods istio-system app=istiod | head -n 1)"
  pod_status istio-system "$pod" false
  write_hosts
  # The pilot image's entrypoint.
  run_container istio-system "$pod" discovery "$(istiod_bin)"
  if ! wait_or_give_up "$WAIT" "the istiod readiness probe" exited "$pod.discovery" -- ready_url "$pod" discovery ||
    ! wait_for "$WAIT" "istiod to write the sidecar injector webhook's caBundle" injector_ca_bundle; then
    log_errors "$pod.discovery"
    return 1
  fi
  pod_status istio-system "$pod" true
  kc -n istio-system rollout status deploy/istiod --timeout=60s >/dev/null
  log "istiod ready; the sidecar injector webhook trusts its CA"
}

# ---- checks -------------------------------------------------------------------------------------

agents_by_node() {
  local node sep=""
  printf '{'
  for node in "${NODES[@]}"; do printf '%s"%s":"%s"' "$sep" "$node" "$(agent_id_of "$node")"; sep=","; done
  printf '}'
}

# The ClusterSPIFFEIDs the controller manager left without status while it reconciled others: it
# updates every ClusterSPIFFEID of its class in one pass, so those are not of its class. Seen on
# three polls in a row, to rule out a pass caught midway.
unreconciled_beside_reconciled() {
  kc get clusterspiffeids -o json >"$S/identities.json"
  if pods_js unreconciled "$S/identities.json" >"$S/unreconciled.txt"; then
    echo $(($(cat "$S/unreconciled.polls" 2>/dev/null || echo 0) + 1)) >"$S/unreconciled.polls"
  else
    echo 0 >"$S/unreconciled.polls"
  fi
  [[ "$(cat "$S/unreconciled.polls")" -ge 3 ]] && echo "not reconciled: $(cut -d' ' -f1 "$S/unreconciled.txt" | xargs)"
}

diagnose_unreconciled() {
  kc get clusterspiffeids -o json >"$S/identities.json"
  local name class
  while read -r name class; do
    echo "FAIL: ClusterSPIFFEID $name (className '$class') was never reconciled: the controller manager handles className '$(json_field "$FACTS" managerClassName)'"
  done < <(pods_js unreconciled "$S/identities.json" any || true)
  log_errors spire-server-0.spire-controller-manager
}

spire_enabled_pods() {
  kc get pods -A -o json >"$S/pods.json"
  pods_js spire-enabled-pods "$S/pods.json" "$FACTS" >"$S/spire-pods.json"
}

entries_match() {
  spire_enabled_pods
  server_cli entry show -output json >"$S/entries.json"
  agents_by_node >"$S/agents-by-node.json"
  pods_js entries-for-pods "$S/spire-pods.json" "$S/agents-by-node.json" "$S/entries.json" "$TRUST_DOMAIN"
}

check_entries() {
  spire_enabled_pods
  local count
  count="$(pods_js count "$S/spire-pods.json")"
  [[ "$count" -gt 0 ]] || { echo "FAIL: no pod asks for the SPIRE injection templates $(json_field "$FACTS" spireTemplates)"; return 1; }
  if ! wait_or_give_up 45 "one SPIRE entry per SPIRE-enabled pod ($count pods)" unreconciled_beside_reconciled -- entries_match; then
    entries_match || true
    diagnose_unreconciled
    return 1
  fi
  entries_match
}

# The agent of each node holds an X509-SVID for every entry of its node: the server mints one per
# entry (spire-server's BatchNewX509SVID) when the agent asks, and the agent logs each it creates.
agent_has_svids() {
  local node="$1" pod id spiffe_id
  pod="$(agent_pod_on "$node")"
  while read -r id spiffe_id; do
    grep -q "Creating X509-SVID.*entry_id=$id.*spiffe_id=\"\?$spiffe_id" "$S/logs/$pod.spire-agent.log" || return 1
  done < <(pods_js entry-ids "$S/entries.json" "$(agent_id_of "$node")")
}

check_svids() {
  server_cli entry show -output json >"$S/entries.json"
  local node n
  for node in "${NODES[@]}"; do
    n="$(pods_js entry-ids "$S/entries.json" "$(agent_id_of "$node")" | grep -c . || true)"
    wait_for 45 "the agent on $node to create an X509-SVID for each of its $n entries" agent_has_svids "$node" || {
      pods_js entry-ids "$S/entries.json" "$(agent_id_of "$node")"
      grep 'X509-SVID' "$S/logs/$(agent_pod_on "$node").spire-agent.log" | tail -n 5
      return 1
    }
    log "agent on $node created X509-SVIDs for its $n entries"
  done
}

entry_count_is() { server_cli entry show -output json >"$S/entries.json" && [[ "$(pods_js count-entries "$S/entries.json" "$1")" == "$2" ]]; }

# Force-removes pods the ReplicaSet controller deleted: without a kubelet nothing confirms the stop.
finish_terminating() {
  local ns="$1" pod
  for pod in $(kc -n "$ns" get pods -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name}{"\n"}{end}'); do
    kc -n "$ns" delete pod "$pod" --grace-period=0 --force >/dev/null 2>&1 || true
  done
}

pods_gone() {
  finish_terminating "$1"
  ! kc -n "$1" get pods -o name | grep -q "^pod/$2-"
}

scaled_to() {
  local ns="$1" deploy="$2" replicas="$3"
  finish_terminating "$ns"
  mark_running "$ns"
  [[ "$(kc -n "$ns" get deploy "$deploy" -o jsonpath='{.status.readyReplicas}')" == "$replicas" ]]
}

check_scale_and_delete() {
  local ns=demo deploy=sleep sa id
  sa="$(kc -n "$ns" get deploy "$deploy" -o jsonpath='{.spec.template.spec.serviceAccountName}')"
  id="spiffe://$TRUST_DOMAIN/ns/$ns/sa/$sa"
  entry_count_is "$id" 1 || { echo "FAIL: expected one entry $id before scaling"; return 1; }
  kc -n "$ns" scale deploy "$deploy" --replicas=2 >/dev/null
  wait_for "$WAIT" "deploy/$deploy to have 2 running pods" scaled_to "$ns" "$deploy" 2
  wait_for 45 "a second entry $id after scaling to 2" entry_count_is "$id" 2
  log "scaled deploy/$deploy to 2: 2 entries $id"
  entries_match >/dev/null
  kc -n "$ns" delete deploy "$deploy" --wait=false >/dev/null
  wait_for "$WAIT" "the pods of deploy/$deploy to be deleted" pods_gone "$ns" "$deploy"
  wait_for 45 "the entries $id to be removed after deleting deploy/$deploy" entry_count_is "$id" 0
  log "deleted deploy/$deploy: no entry $id left"
}

check_reapply_unchanged() {
  local file changed=0
  while read -r file; do
    kc diff -f "$file" >"$S/reapply.diff" 2>&1 || true
    kc apply -f "$file" >"$S/reapply.out" 2>&1
    if grep -v ' unchanged$' "$S/reapply.out" | grep -q .; then
      grep -v ' unchanged$' "$S/reapply.out" | sed "s/^/    $(basename "$file"): /"
      grep -E '^(\+\+\+|[-+] )' "$S/reapply.diff" | grep -v -E '^[-+] +(generation|resourceVersion):' | head -n 30 | sed 's/^/      /' || true
      changed=1
    fi
  done <"$S/applied"
  [[ $changed -eq 0 ]] || { echo "FAIL: a second kubectl apply changed objects: the API server stores them in another form"; return 1; }
  log "second kubectl apply: every object unchanged ($(sort -u "$S/applied" | xargs -n1 basename | tr '\n' ' '))"
}

check_server_side_apply() {
  local file
  while read -r file; do
    kc apply --server-side -f "$file" >"$S/ssa.out" 2>&1 || {
      sed 's/^/    /' "$S/ssa.out"
      echo "FAIL: kubectl apply --server-side -f $(basename "$file") conflicted"
      return 1
    }
  done <"$S/applied"
  log "kubectl apply --server-side: no conflicts"
}

# Pod Security admission ran for real when the controllers created the pods: every workload of a
# namespace with an enforce label has all its pods, and no controller reported a refused create.
check_pod_security() {
  local ns level refused
  for ns in $(kc get ns -l pod-security.kubernetes.io/enforce -o jsonpath='{.items[*].metadata.name}'); do
    level="$(kc get ns "$ns" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')"
    refused="$(kc -n "$ns" get events --field-selector reason=FailedCreate -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')"
    [[ -z "$refused" ]] || { echo "FAIL: namespace $ns ($level): $refused"; return 1; }
    [[ "$(kc -n "$ns" get pods -o name | grep -c .)" -gt 0 ]] || { echo "FAIL: namespace $ns ($level) has no pods to hold the label against"; return 1; }
    log "namespace $ns enforces $level: $(kc -n "$ns" get pods -o name | grep -c .) pods admitted, no refused create"
  done
}

# The mode istiod injects sidecars in, from its ENABLE_NATIVE_SIDECARS as the conformance suite
# reads it ("auto" is native on nodes of this Kubernetes version).
istiod_sidecar_mode() {
  local setting
  setting="$(kc -n istio-system get deploy istiod -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="ENABLE_NATIVE_SIDECARS")].value}')"
  [[ "$(native_setting_for_kube_inject "$setting")" == true ]] && echo native || echo classic
}

# The pods as istiod's webhook mutated them and Pod Security admitted them.
check_injected_pods() {
  kc get pods -A -o json >"$S/pods.json"
  pods_js injected-pods "$S/pods.json" "$(json_field "$FACTS" socketPath)" "$(istiod_sidecar_mode)"
}

nodes_and_volumes() {
  create_nodes
  create_volumes
}

all_running() {
  mark_running "$1"
  [[ -n "$(kc -n "$1" get pods -o name)" && -z "$(kc -n "$1" get pods -o jsonpath='{.items[?(@.status.phase!="Running")].metadata.name}')" ]]
}

workloads_running() {
  local ns deploy
  for ns in $(kc get deploy -A -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}' | sort -u); do
    wait_for "$WAIT" "the pods of namespace $ns to be scheduled and running" all_running "$ns"
    for deploy in $(kc -n "$ns" get deploy -o name); do
      kc -n "$ns" rollout status "$deploy" --timeout=60s >/dev/null
    done
    log "namespace $ns: $(kc -n "$ns" get pods -o name | grep -c .) pods running, every Deployment rolled out"
  done
}

# ---- the run ------------------------------------------------------------------------------------

# stage NAME FUNCTION...: a step later ones depend on; the run stops at the first failing one.
stage() {
  local start=$SECONDS
  run_check "$@"
  log "($((SECONDS - start))s)"
  [[ $FAILED -eq 0 ]] || exit 1
}

main() {
  mkdir -p "$S/logs" "$S/nodes" "$S/pods" "$S/volumes"
  : >"$S/applied"
  FACTS="$(pods_js facts "$DIR")"
  TRUST_DOMAIN="$(json_field "$FACTS" trustDomain)"
  AGENT_CLUSTER="$(json_field "$FACTS" agentCluster)"
  BUNDLE_CONFIGMAP="$(json_field "$FACTS" bundleConfigMap)"
  network
  make_pki
  stage "control plane up" start_control_plane
  stage "CRDs applied and Established" apply_crds
  stage "nodes Ready, a PersistentVolume for the server's claim" nodes_and_volumes
  stage "SPIRE applied without API warnings" apply "$DIR/0001-spire.k8s.yaml" recheck
  stage "spire-server and controller manager running as their service account" start_spire_server
  stage "trust bundle ConfigMap published by the server" check_bundle_published
  stage "agents attested with k8s_psat from the published bundle" start_agents
  stage "agent list: one k8s_psat agent per node" check_agents_psat
  stage "spire-server, controller manager and agents answer /metrics at their pod IPs" check_metrics
  stage "ClusterSPIFFEIDs admitted by the controller manager's webhook" apply "$DIR/0002-identities.k8s.yaml" recheck
  stage "Istio profile installed" install_istio
  stage "istiod running, its injection webhook's caBundle written" start_istiod
  stage "workloads applied without API warnings" apply "$DIR/0004-workloads.k8s.yaml" recheck
  stage "workloads running (rollout status)" workloads_running
  stage "every pod asking for injection templates got SPIRE's wiring from istiod's webhook" check_injected_pods
  stage "every SPIRE-enabled pod has one entry with its SPIFFE ID and its node's agent as parent" check_entries
  stage "each agent holds an X509-SVID for every entry of its node" check_svids
  stage "a second kubectl apply reports every object unchanged" check_reapply_unchanged
  stage "kubectl apply --server-side succeeds without conflicts" check_server_side_apply
  stage "scaling a workload adds an entry, deleting it removes it" check_scale_and_delete
  stage "Pod Security labels hold for the pods of their namespace" check_pod_security
}

main
