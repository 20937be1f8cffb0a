# shellcheck shell=bash
# One run of the synthesized output on a real cluster: a control plane and one node (kubelet,
# containerd, runc, kube-proxy, CoreDNS) on which every pod of the output runs from its image.
# Runs inside the network namespace and the private mount namespace e2e/run.sh creates:
#   bash cluster.sh MANIFEST_DIR SCRATCH_DIR NETNS IMAGE_STORE [FEDERATION_DIR]
#   (NETNS: the network namespace's name, also the name of the run's cgroup; IMAGE_STORE: the
#   containerd store the node's images were imported into, see seed_image_store in node.sh;
#   FEDERATION_DIR: shared with the partner cluster's run, see federation.sh)
# Prints "PASS: <check>" / "FAIL: <check>" lines; exits non-zero when a stage fails.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFORMANCE_DIR="$(dirname "$E2E_DIR")/conformance"
# shellcheck source=tools.sh
source "$E2E_DIR/lib/tools.sh"
# shellcheck source=../../conformance/lib/checks.sh
source "$CONFORMANCE_DIR/lib/checks.sh"
# shellcheck source=../../conformance/lib/postgres.sh
source "$CONFORMANCE_DIR/lib/postgres.sh"
# shellcheck source=node.sh
source "$E2E_DIR/lib/node.sh"
# shellcheck source=federation.sh
source "$E2E_DIR/lib/federation.sh"
# shellcheck source=faults.sh
source "$E2E_DIR/lib/faults.sh"
# shellcheck source=scale.sh
source "$E2E_DIR/lib/scale.sh"
# shellcheck source=ha.sh
source "$E2E_DIR/lib/ha.sh"
# shellcheck source=pods-client.sh
source "$E2E_DIR/lib/pods-client.sh"

DIR="$1"
S="$2"
NETNS="$3"
IMAGE_STORE="$4"
FEDERATION="${5:-}"
# How Istio is installed: istioctl (the profile's IstioOperator) or helm (its values file).
ISTIO_ROUTE="${ISTIO_ROUTE:-istioctl}"
# What runs after the output's stages: the checks of an output (checks), faults (faults.sh), the
# high-availability faults (ha.sh) or the scale measurements (scale.sh), which need more pods on
# the node than the kubelet's 110.
AFTER_STAGES="${AFTER_STAGES:-checks}"
NODE_MAX_PODS=110
[[ "$AFTER_STAGES" != scale ]] || NODE_MAX_PODS=250
CGROUP_ROOT="$NETNS"
NODE=e2e-node-1
# The API server's and the node's addresses are on the namespace's loopback interface.
APISERVER_IP=10.200.0.10
NODE_IP=10.200.0.1
SERVICE_CIDR=10.96.0.0/16
FIRST_SERVICE_IP=10.96.0.1
# Seconds any one wait may take; generous for a loaded 2-core machine.
WAIT=90
# The output's facts (pods.js facts) by name, and the node's UID, read once.
declare -A FACT=()
NODE_UID=""

kc() { "$(control_plane_bin kubectl)" --kubeconfig "$S/admin.kubeconfig" "$@"; }

log() { echo "  $*"; }

# Stops the run, printing first what it cost in CPU. Every process of the run, started here or by
# the kubelet, is then killed at once with the run's cgroup: its data is thrown away, so a
# graceful stop (the API server's alone takes over 10 s) would only hold the run's slot.
stop_all() {
  # The second line of `times`, run in this shell (not a subshell): the CPU time of the commands
  # this script ran and waited for.
  times >"$S/times.txt"
  pods_js cpu-by-process "$CGROUP_ROOT" "$(tail -n 1 "$S/times.txt")" || true
  stop_external_datastore || true
  remove_run_cgroup "$CGROUP_ROOT"
}
trap stop_all EXIT

# The run's pods.js server, asking the API server as the admin.
start_pods_js_server() {
  local port=2390
  start pods-js node "$E2E_DIR/lib/pods.js" serve "$port" "https://$APISERVER_IP:6443" "$S/pki/ca.crt" "$S/pki/admin.crt" "$S/pki/admin.key"
  wait_for 10 "the run's pods.js server to listen on $port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || { tail -n 5 "$S/logs/pods-js.log"; return 1; }
  PODS_JS_PORT="$port"
}

# start NAME COMMAND...: a background process, logged to $S/logs/NAME.log, its PID in $S/logs/NAME.pid.
start() {
  local name="$1"
  shift
  "$@" >"$S/logs/$name.log" 2>&1 &
  echo $! >"$S/logs/$name.pid"
}

# wait_or_give_up SECONDS WHAT GIVE_UP... -- COMMAND...: wait_for, but fails at once when the
# GIVE_UP command, asked after each COMMAND that did not succeed, succeeds (the awaited state can
# no longer come), with its last line of output.
# Polls every second for the first 10 s, then every 3 s: a poll is a few processes (kubectl,
# node), and with several runs sharing the cores a long wait's polls cost more than its latency.
wait_or_give_up() {
  local seconds="$1" what="$2" deadline=$(($1 + SECONDS)) started=$SECONDS give_up=()
  shift 2
  while [[ "$1" != -- ]]; do give_up+=("$1"); shift; done
  shift
  until "$@" >/dev/null 2>&1; do
    if "${give_up[@]}" >"$S/give-up.out" 2>&1; then
      echo "FAIL: gave up waiting for $what: $(head -n 1 "$S/give-up.out")"
      tail -n +2 "$S/give-up.out"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "FAIL: timed out after ${seconds}s waiting for $what"
      return 1
    fi
    if ((SECONDS - started < 10)); then sleep 1; else sleep 3; fi
  done
}

# idle COMMAND...: COMMAND while this run's slot (E2E_SLOT, from e2e/run.sh) counts as free, so
# that another run may start meanwhile: for waits on a clock of their own (a database outage, an
# SVID's lifetime) that use next to no CPU.
idle() {
  local slot="${E2E_SLOT:-}" status=0
  [[ -n "$slot" && -e "$slot" ]] || { "$@"; return; }
  mv "$slot" "$slot.idle"
  "$@" || status=$?
  mv "$slot.idle" "$slot"
  return "$status"
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND once a second; fails naming WHAT on timeout.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  wait_or_give_up "$seconds" "$what" false -- "$@"
}

# exited NAME: the process start NAME began has ended.
exited() {
  ! kill -0 "$(cat "$S/logs/$1.pid")" 2>/dev/null && echo "$1 exited; its last lines:" && tail -n 3 "$S/logs/$1.log" | sed "s|^|    $1: |"
}

# Lines of a log that explain a failure: errors and warnings, without the noise of retries.
error_lines() { grep -E -i 'level=(error|warning)|error|forbidden|denied' | tail -n "${2:-8}" | sed "s|^|    $1: |" || true; }
log_errors() { error_lines "$1" "${2:-8}" <"$S/logs/$1.log"; }
# pod_errors NS POD CONTAINER: the error lines of a container's log, as the kubelet keeps it, and
# of its previous instance when it restarted.
pod_errors() {
  { kc -n "$1" logs "$2" -c "$3" --previous 2>/dev/null || true; kc -n "$1" logs "$2" -c "$3" 2>&1 || true; } | error_lines "$2/$3"
}

# explain_pods NS SELECTOR: for each pod of the selector that is not Ready, the last lines of its
# containers' logs and their error lines.
explain_pods() {
  local ns="$1" selector="$2" pod container
  for pod in $(kc -n "$ns" get pods -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2 != "True" {print $1}'); do
    for container in $(kc -n "$ns" get pod "$pod" -o jsonpath='{.spec.initContainers[*].name} {.spec.containers[*].name}'); do
      pod_errors "$ns" "$pod" "$container"
      { kc -n "$ns" logs "$pod" -c "$container" --tail 2 2>/dev/null || true; } | sed "s|^|    $pod/$container (last lines): |"
    done
  done
}

# ---- certificates -------------------------------------------------------------------------------

# P-256 keys throughout: cheap to make and to handshake with, for every kubectl call of a run.
NEW_KEY=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

cert() {
  local name="$1" subject="$2" ext="$3"
  openssl req -new "${NEW_KEY[@]}" -keyout "$S/pki/$name.key" -subj "$subject" -out "$S/pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$S/pki/$name.ext"
  openssl x509 -req -in "$S/pki/$name.csr" -CA "$S/pki/ca.crt" -CAkey "$S/pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$S/pki/$name.ext" -out "$S/pki/$name.crt" 2>/dev/null
}

make_pki() {
  mkdir -p "$S/pki"
  openssl req -x509 "${NEW_KEY[@]}" -keyout "$S/pki/ca.key" -subj "/CN=e2e-ca" -days 2 -out "$S/pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,IP:$APISERVER_IP,IP:$FIRST_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  cert admin "/O=system:masters/CN=e2e-admin" "extendedKeyUsage=clientAuth"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  openssl ecparam -name prime256v1 -genkey -noout -out "$S/pki/sa.key" 2>/dev/null
  openssl ec -in "$S/pki/sa.key" -pubout -out "$S/pki/sa.pub" 2>/dev/null
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
  ip addr add "$NODE_IP/32" dev lo
}

# Every request a service account makes, with the authorizer's decision, and every question the
# kubelet asks about a caller of its own API (a SubjectAccessReview, with its answer): what the
# output's service accounts used of what their roles grant.
audit_policy() {
  cat <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: RequestResponse
    userGroups: ["system:nodes"]
    resources: [{group: authorization.k8s.io, resources: [subjectaccessreviews]}]
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
EOF
}

start_control_plane() {
  start etcd "$(control_plane_bin etcd)" --data-dir "$S/etcd" --unsafe-no-fsync \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
  wait_for 30 "etcd to be healthy" curl -fsS http://127.0.0.1:2379/health
  audit_policy >"$S/audit-policy.yaml"
  start kube-apiserver "$(control_plane_bin kube-apiserver)" --etcd-servers http://127.0.0.1:2379 \
    --audit-policy-file "$S/audit-policy.yaml" --audit-log-path "$S/logs/audit.log" --audit-log-format json \
    --bind-address "$APISERVER_IP" --secure-port 6443 --advertise-address "$APISERVER_IP" \
    --tls-cert-file "$S/pki/apiserver.crt" --tls-private-key-file "$S/pki/apiserver.key" --client-ca-file "$S/pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local --service-account-key-file "$S/pki/sa.pub" \
    --service-account-signing-key-file "$S/pki/sa.key" --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
    --enable-aggregator-routing=true --kubelet-client-certificate "$S/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$S/pki/apiserver-kubelet-client.key" --kubelet-preferred-address-types InternalIP
  kubeconfig admin
  kubeconfig controller-manager
  kubeconfig scheduler
  wait_for "$WAIT" "kube-apiserver /readyz" api_get /readyz
  start kube-controller-manager "$(control_plane_bin kube-controller-manager)" --kubeconfig "$S/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --use-service-account-credentials --service-account-private-key-file "$S/pki/sa.key" \
    --root-ca-file "$S/pki/ca.crt" --cluster-signing-cert-file "$S/pki/ca.crt" --cluster-signing-key-file "$S/pki/ca.key" \
    --leader-elect=false \
    --controllers '*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller' \
    --flex-volume-plugin-dir "$S/node/controller-manager-volume-plugins"
  start kube-scheduler "$(control_plane_bin kube-scheduler)" --kubeconfig "$S/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
  wait_for "$WAIT" "the default service account (controller manager up)" api_get /api/v1/namespaces/default/serviceaccounts/default
  log "control plane $KUBERNETES_VERSION up: etcd, kube-apiserver, kube-controller-manager, kube-scheduler"
}

# A PersistentVolume for every claim the output's StatefulSets make (no provisioner here): a
# directory on the node owned by the pod's fsGroup, which a hostPath volume does not apply.
create_volumes() {
  local claim size owner
  while read -r claim size owner; do
    mkdir -p "$S/volumes/$claim"
    chown "$owner" "$S/volumes/$claim"
    kc create -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-$claim}
spec: {capacity: {storage: $size}, accessModes: [ReadWriteOnce], hostPath: {path: "$S/volumes/$claim"}}
EOF
    log "PersistentVolume e2e-$claim ($size, owned by $owner) for claim $claim"
  done < <(pods_js claims "$DIR")
}

# ---- applying, in docs/applying.md's order -------------------------------------------------------

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
  apply "$1" recheck
  # shellcheck disable=SC2046
  kc wait --for condition=established --timeout=60s $(pods_js crd-names "$DIR")
}

# ---- pods on the node ---------------------------------------------------------------------------

# pods_ready NS SELECTOR COUNT: one look at the pods of the selector and their namespace's events;
# succeeds when at least COUNT are listed and all are Ready. Its verdict stays in $S/pods-state for
# pods_blocked, which wait_or_give_up asks next about the same look.
pods_ready() {
  : >"$S/pods-state"
  api_get "/api/v1/namespaces/$1/pods" "labelSelector=$2" >"$S/poll-pods.json" 2>/dev/null || return 1
  api_get "/api/v1/namespaces/$1/events" >"$S/poll-events.json" 2>/dev/null || return 1
  pods_js pods-state "$S/poll-pods.json" "$S/poll-events.json" "$3" >"$S/pods-state" || return 1
  [[ "$(head -n 1 "$S/pods-state")" == ready ]]
}

# pods_blocked: the last look of pods_ready found a pod that cannot become ready by waiting (a
# container the kubelet keeps restarting or cannot create, a volume it cannot mount); prints why.
pods_blocked() { [[ "$(head -n 1 "$S/pods-state")" == blocked ]] && tail -n +2 "$S/pods-state"; }

# wait_pods_ready NS SELECTOR WHAT [COUNT [GIVE_UP]]: every pod of the selector Ready (at least
# COUNT of them), given up when GIVE_UP (default pods_blocked) finds the last look hopeless; on
# failure the pods' states, events and the error lines of their containers' logs.
wait_pods_ready() {
  local ns="$1" selector="$2" what="$3" count="${4:-1}" give_up="${5:-pods_blocked}" pod container
  if ! wait_or_give_up "$WAIT" "$what to be Ready" "$give_up" -- pods_ready "$ns" "$selector" "$count"; then
    kc -n "$ns" get pods -l "$selector" -o wide 2>&1 | sed 's/^/    /'
    { kc -n "$ns" get events --sort-by=.lastTimestamp 2>&1 | grep -v -E ' Normal ' || true; } | tail -n 8 | sed 's/^/    /'
    explain_pods "$ns" "$selector"
    return 1
  fi
  log "$what: $(tail -n +2 "$S/pods-state")"
}

# ---- SPIRE --------------------------------------------------------------------------------------

spire_running() {
  wait_pods_ready spire-server app.kubernetes.io/name=spire-server "spire-server pod (server and controller manager)"
  # An agent the server refuses fails on its side; the reason is in the server's log too.
  wait_pods_ready spire-system app.kubernetes.io/name=spire-agent "spire-agent pod (agent, CSI driver, registrar)" 1 agent_blocked ||
    { pod_errors spire-server spire-server-0 spire-server; return 1; }
  kc -n spire-server rollout status statefulset/spire-server --timeout=60s >/dev/null
  kc -n spire-system rollout status daemonset/spire-agent --timeout=60s >/dev/null
}

# The kubelet registered the CSI driver through the registrar's socket, as `kubectl get csinode` shows.
csi_registered() { kc get csinode "$NODE" -o jsonpath='{.spec.drivers[*].name}' | tr ' ' '\n' | grep -qx "$CSI_DRIVER"; }

check_csi_registered() {
  wait_for "$WAIT" "csinode $NODE to list $CSI_DRIVER" csi_registered || { kc get csinode "$NODE" -o yaml | sed 's/^/    /'; return 1; }
  log "kubectl get csinode $NODE: drivers $(kc get csinode "$NODE" -o jsonpath='{.spec.drivers[*].name}')"
}

# spire-server's own CLI in its container (the image's entrypoint), on the socket its config names,
# run from the node in the container's mount namespace: the socket and the binary as `kubectl exec`
# finds them, without the exec's processes (kubectl, the kubelet's stream, runc) at each poll.
SERVER_BINARY=/opt/spire/bin/spire-server
server_cli() {
  local pid
  api_get "/api/v1/namespaces/spire-server/pods/${SERVER_POD:-spire-server-0}" >"$S/server-pod.json" &&
    pid="$(pods_js container-pid "$S/server-pod.json" spire-server)" || return 1
  nsenter --target "$pid" --mount -- "$SERVER_BINARY" "$@" -socketPath "${FACT[serverSocketPath]}"
}

bundle_published() {
  local ns name key
  IFS=/ read -r ns name key <<<"$BUNDLE_CONFIGMAP"
  [[ -n "$(kc -n "$ns" get configmap "$name" -o jsonpath="{.data.${key//./\\.}}")" ]]
}

check_bundle_published() {
  [[ -n "$BUNDLE_CONFIGMAP" ]] || { echo "FAIL: server.conf configures no k8s_configmap BundlePublisher"; return 1; }
  wait_for "$WAIT" "the server to publish its trust bundle to ConfigMap $BUNDLE_CONFIGMAP" bundle_published || {
    pod_errors spire-server spire-server-0 spire-server
    return 1
  }
  local ns name key published served
  IFS=/ read -r ns name key <<<"$BUNDLE_CONFIGMAP"
  kc -n "$ns" get configmap "$name" -o jsonpath="{.data.${key//./\\.}}" >"$S/published-bundle.json"
  server_cli bundle show -format spiffe >"$S/served-bundle.json"
  published="$(pods_js x509-authorities "$S/published-bundle.json")"
  served="$(pods_js x509-authorities "$S/served-bundle.json")"
  [[ -n "$published" && "$published" == "$served" ]] || { echo "FAIL: ConfigMap $BUNDLE_CONFIGMAP does not hold the server's X.509 authorities"; return 1; }
  log "ConfigMap $BUNDLE_CONFIGMAP holds the server's X.509 authorities (spire-server bundle show)"
}

agent_pod() { kc -n spire-system get pods -l app.kubernetes.io/name=spire-agent --field-selector "spec.nodeName=$NODE" -o jsonpath='{.items[0].metadata.name}'; }
agent_id() { echo "spiffe://$TRUST_DOMAIN/spire/agent/k8s_psat/$AGENT_CLUSTER/$NODE_UID"; }
agent_log() { kc -n spire-system logs "$(agent_pod)" -c spire-agent "$@"; }

# agent_refusal: the first line of an agent's log (standard input) that retrying cannot change: the
# server refused its attestation (anything but Unavailable), or the kubelet's serving certificate
# failed the agent's verification.
agent_refusal() {
  grep -E 'Failed to retrieve attestation result|Unable to get pod list' | grep -v 'code = Unavailable' | grep -m 1 -E 'rpc error|x509'
}
attestation_refused() { agent_log --all-containers=false 2>/dev/null | agent_refusal; }

# agent_blocked: pods_blocked, or the agent's log at the last look shows an agent_refusal.
agent_blocked() {
  pods_blocked && return 0
  local pod
  pod="$(pods_js names "$S/poll-pods.json" | awk '{print $2; exit}')"
  [[ -n "$pod" ]] && api_get "/api/v1/namespaces/spire-system/pods/$pod/log" container=spire-agent 2>/dev/null | agent_refusal
}

agent_attested() { server_cli agent show -spiffeID "$(agent_id)"; }

check_agent_psat() {
  if ! wait_or_give_up "$WAIT" "the agent on $NODE to attest as $(agent_id)" attestation_refused -- agent_attested; then
    pod_errors spire-system "$(agent_pod)" spire-agent
    pod_errors spire-server spire-server-0 spire-server
    return 1
  fi
  server_cli agent list -output json >"$S/agents.json"
  pods_js agents "$S/agents.json" | grep -qx "$(agent_id) k8s_psat" || { echo "FAIL: agent list has no $(agent_id) attested with k8s_psat"; pods_js agents "$S/agents.json"; return 1; }
  log "agent list: $(agent_id) k8s_psat"
}

# serves_metrics NS POD CONTAINER PREFIX: the container's port named for metrics answers
# /metrics at the pod IP, from the node, with series of that prefix.
serves_metrics() {
  local ns="$1" pod="$2" container="$3" prefix="$4" address body="$S/metrics-$2-$3"
  api_get "/api/v1/namespaces/$ns/pods/$pod" >"$S/pod.json" &&
    address="$(pods_js metrics-address "$S/pod.json" "$container")" || return 1
  if ! curl -fsS --max-time 5 -o "$body" "http://$address/metrics" || ! grep -q "^$prefix" "$body"; then
    echo "FAIL: $ns/$pod container $container: http://$address/metrics has no ${prefix} series"
    pod_errors "$ns" "$pod" "$container"
    return 1
  fi
  log "$ns/$pod $container: http://$address/metrics answers with $(grep -c "^$prefix" "$body") ${prefix} samples"
}

check_metrics() {
  serves_metrics spire-server spire-server-0 spire-server spire_ || return 1
  serves_metrics spire-server spire-server-0 spire-controller-manager controller_runtime_ || return 1
  serves_metrics spire-system "$(agent_pod)" spire-agent spire_
}

# The runtime applied each container's securityContext: its user, read-only root and capabilities,
# read from the running processes.
check_security_contexts() {
  record_pods_json
  pods_js security-contexts "$S/pods.json"
}

# ---- Istio --------------------------------------------------------------------------------------

# apply_crds_then_rest NAME FILE: FILE's CRDs applied and waited for, then its other objects, as
# istioctl install and helm install do.
apply_crds_then_rest() {
  local name="$1" all="$2"
  pods_js split-crds "$all" "$S/istio/$name-crds.yaml" "$S/istio/$name-objects.yaml"
  if [[ -s "$S/istio/$name-crds.yaml" ]]; then
    kc apply --server-side -f "$S/istio/$name-crds.yaml" >/dev/null
    kc wait --for condition=established --timeout=60s -f "$S/istio/$name-crds.yaml" >/dev/null
  fi
  [[ ! -s "$S/istio/$name-objects.yaml" ]] || kc apply --server-side -f "$S/istio/$name-objects.yaml" >/dev/null
}

# The objects istioctl install creates, from `istioctl manifest generate`, applied as it does:
# the namespace, the CRDs (waited for), then the rest.
install_istio() {
  local iop="$S/istio/istio-operator.yaml"
  mkdir -p "$S/istio"
  cp "$1" "$iop"
  "$(istioctl_bin "$ISTIO_NEW_VERSION")" manifest generate -f "$iop" --set hub=docker.io/istio --set "tag=$ISTIO_NEW_VERSION" \
    >"$S/istio/generated.yaml" 2>"$S/istio/generate.log" || { cat "$S/istio/generate.log"; return 1; }
  kc create namespace istio-system >/dev/null
  apply_crds_then_rest istioctl "$S/istio/generated.yaml"
  log "istioctl $ISTIO_NEW_VERSION manifest generate: $(grep -c '^kind:' "$S/istio/generated.yaml") objects applied"
}

# docs/applying.md's Helm route instead: the namespace, Istio's base chart, then its istiod chart with
# the output's helm/istiod-values.yaml, each rendered as helm install renders it.
install_istio_helm() {
  local values="$DIR/helm/istiod-values.yaml"
  mkdir -p "$S/istio"
  render_istio_helm "$ISTIO_NEW_VERSION" "$values" "$S/istio/helm" || return 1
  kc create namespace istio-system >/dev/null
  apply_crds_then_rest base "$S/istio/helm/base.yaml"
  apply_crds_then_rest istiod "$S/istio/helm/istiod.yaml"
  log "helm template of Istio $ISTIO_NEW_VERSION's base and istiod charts with $(basename "$DIR")/helm/istiod-values.yaml: $(cat "$S/istio/helm/base.yaml" "$S/istio/helm/istiod.yaml" | grep -c '^kind:') objects applied"
}

injector_ca_bundle() { kc get mutatingwebhookconfiguration -l app=sidecar-injector -o jsonpath='{.items[*].webhooks[*].clientConfig.caBundle}'; }

# istiod as its Deployment's pod: it creates its CA, serves the sidecar injector's webhook and
# writes that webhook's caBundle, as `istioctl install` waits for.
istiod_running() {
  wait_pods_ready istio-system app=istiod istiod || return 1
  wait_for "$WAIT" "istiod to write the sidecar injector webhook's caBundle" injector_ca_bundle || return 1
  kc -n istio-system rollout status deploy/istiod --timeout=60s >/dev/null
  log "the sidecar injector webhook trusts istiod's CA"
}

# ---- checks -------------------------------------------------------------------------------------

# The ClusterSPIFFEIDs the controller manager left without status while it reconciled others: it
# updates every ClusterSPIFFEID of its class in one pass, so those are not of its class. Seen on
# three polls in a row, to rule out a pass caught midway.
unreconciled_beside_reconciled() {
  record_identities_json
  if pods_js unreconciled "$S/identities.json" >"$S/unreconciled.txt"; then
    echo $(($(cat "$S/unreconciled.polls" 2>/dev/null || echo 0) + 1)) >"$S/unreconciled.polls"
  else
    echo 0 >"$S/unreconciled.polls"
  fi
  [[ "$(cat "$S/unreconciled.polls")" -ge 3 ]] && echo "not reconciled: $(cut -d' ' -f1 "$S/unreconciled.txt" | xargs)"
}

diagnose_unreconciled() {
  record_identities_json
  local name class
  while read -r name class; do
    echo "FAIL: ClusterSPIFFEID $name (className '$class') was never reconciled: the controller manager handles className '${FACT[managerClassName]}'"
  done < <(pods_js unreconciled "$S/identities.json" any || true)
  pod_errors spire-server spire-server-0 spire-controller-manager
}

spire_enabled_pods() {
  record_pods_json
  pods_js spire-enabled-pods "$S/pods.json" "$FACTS" >"$S/spire-pods.json"
}

entries_match() {
  spire_enabled_pods
  server_cli entry show -output json >"$S/entries.json"
  printf '{"%s":"%s"}' "$NODE" "$(agent_id)" >"$S/agents-by-node.json"
  pods_js entries-for-pods "$S/spire-pods.json" "$S/agents-by-node.json" "$S/entries.json" "$TRUST_DOMAIN"
}

check_entries() {
  spire_enabled_pods
  local count
  count="$(pods_js count "$S/spire-pods.json")"
  [[ "$count" -gt 0 ]] || { echo "FAIL: no pod asks for the SPIRE injection templates ${FACT[spireTemplates]}"; return 1; }
  if ! wait_or_give_up 45 "one SPIRE entry per SPIRE-enabled pod ($count pods)" unreconciled_beside_reconciled -- entries_match; then
    entries_match || true
    diagnose_unreconciled
    return 1
  fi
  entries_match
}

# What Envoy would hold: the stand-in in its place logs every secret it receives over SDS; the last
# of each of default and ROOTCA, per SPIRE-enabled pod, into $S/sds/NS.POD.log.
# collect_sds_logs [DIR [KEY=VALUE...]]: into $S/DIR (default sds), fresh, with the log API's query
# (timestamps=true).
collect_sds_logs() {
  local dir="$S/${1:-sds}" ns pod
  shift || true
  rm -rf "$dir"
  mkdir -p "$dir"
  while read -r ns pod; do
    api_get "/api/v1/namespaces/$ns/pods/$pod/log" container=istio-proxy "$@" >"$dir/$ns.$pod.log" 2>&1 || true
  done < <(pods_js names "$S/spire-pods.json")
}

sds_served() {
  spire_enabled_pods
  collect_sds_logs
  pods_js sds-received "$S/spire-pods.json" "$S/sds" >/dev/null
}

# The seeds' verification, on every SPIRE-enabled pod: the SVID that SPIRE's agent served to the
# pod's istio-proxy over SDS at the path pilot-agent gave Envoy names the pod's own SPIFFE ID,
# chains to SPIRE's bundle and not to istiod's CA, and ROOTCA is SPIRE's bundle.
check_sds() {
  # Each poll refreshes the pod list and the logs the checks below read, the last one included.
  wait_or_give_up 45 "istio-proxy of every SPIRE-enabled pod to receive default and ROOTCA over SDS" \
    unreconciled_beside_reconciled -- sds_served || true
  server_cli bundle show -format pem >"$S/spire-bundle.pem"
  kc -n istio-system get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\.pem}' >"$S/istiod-root.pem"
  pods_js sds "$S/spire-pods.json" "$S/sds" "$S/spire-bundle.pem" "$S/istiod-root.pem" "$TRUST_DOMAIN" || {
    diagnose_unreconciled
    pod_errors spire-system "$(agent_pod)" spire-agent
    return 1
  }
}

no_pod_terminating() { [[ -z "$(kc get pods -A -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}')" ]]; }

# The same Deployments with classic sidecars (the pod annotation sidecar.istio.io/nativeSidecar:
# "false"): one template serves both modes, so each new pod must get its SVID the same way.
check_classic_sidecars() {
  local ns deploy
  record_deployments_json || return 1
  pods_js sidecar-deployments "$S/deployments.json" >"$S/sidecar-deployments.txt"
  while read -r ns deploy; do
    kc -n "$ns" patch deploy "$deploy" --type=merge \
      -p '{"spec":{"template":{"metadata":{"annotations":{"sidecar.istio.io/nativeSidecar":"false"}}}}}' >/dev/null
  done <"$S/sidecar-deployments.txt"
  wait_rollouts "$WAIT" || return 1
  wait_for "$WAIT" "the pods the rollouts replaced to be gone" no_pod_terminating
  log "$(grep -c . "$S/sidecar-deployments.txt") Deployments rolled out with classic sidecars"
  check_injected_pods
  check_sds
}

entry_count_is() { server_cli entry show -output json >"$S/entries.json" && [[ "$(pods_js count-entries "$S/entries.json" "$1")" == "$2" ]]; }

pods_gone() { ! kc -n "$1" get pods -o name | grep -q "^pod/$2-"; }

# ready_replicas API_PATH: the ready replicas of the Deployment or StatefulSet at that path.
ready_replicas() {
  local ready
  api_get "$1" >"$S/workload.json" && ready="$(pods_js field "$S/workload.json" status.readyReplicas)"
  echo "${ready:-0}"
}
ready_replicas_are() { [[ "$(ready_replicas "/apis/apps/v1/namespaces/$1/deployments/$2")" == "$3" ]]; }

# deployment_id NS DEPLOY: the SPIFFE ID Istio's ClusterSPIFFEID gives the Deployment's pods.
deployment_id() { echo "spiffe://$TRUST_DOMAIN/ns/$1/sa/$(kc -n "$1" get deploy "$2" -o jsonpath='{.spec.template.spec.serviceAccountName}')"; }

check_scale_and_delete() {
  local ns=demo deploy=sleep id
  id="$(deployment_id "$ns" "$deploy")"
  entry_count_is "$id" 1 || { echo "FAIL: expected one entry $id before scaling"; return 1; }
  kc -n "$ns" scale deploy "$deploy" --replicas=2 >/dev/null
  wait_for "$WAIT" "deploy/$deploy to have 2 ready pods" ready_replicas_are "$ns" "$deploy" 2
  wait_for 45 "a second entry $id after scaling to 2" entry_count_is "$id" 2
  log "scaled deploy/$deploy to 2: 2 entries $id"
  entries_match >/dev/null
  kc -n "$ns" delete deploy "$deploy" --wait=false >/dev/null
  wait_for "$WAIT" "the pods of deploy/$deploy to be deleted" pods_gone "$ns" "$deploy"
  wait_for 45 "the entries $id to be removed after deleting deploy/$deploy" entry_count_is "$id" 0
  log "deleted deploy/$deploy: no entry $id left"
}
# applied_files_args: "-f FILE" for each file applied with recheck, in order: one kubectl for all.
applied_files_args() { local file; while read -r file; do printf -- '-f\n%s\n' "$file"; done <"$S/applied"; }

check_reapply_unchanged() {
  local files=()
  mapfile -t files < <(applied_files_args)
  kc apply "${files[@]}" >"$S/reapply.out" 2>&1
  if grep -v ' unchanged$' "$S/reapply.out" | grep -q .; then
    grep -v ' unchanged$' "$S/reapply.out" | sed 's/^/    /'
    # After the apply, a field the server stores in another form differs again: the diff shows it.
    kc diff "${files[@]}" >"$S/reapply.diff" 2>&1 || true
    grep -E '^(\+\+\+|[-+] )' "$S/reapply.diff" | grep -v -E '^[-+] +(generation|resourceVersion):' | head -n 30 | sed 's/^/      /' || true
    echo "FAIL: a second kubectl apply changed objects: the API server stores them in another form"
    return 1
  fi
  log "second kubectl apply: every object unchanged ($(xargs -n1 basename <"$S/applied" | tr '\n' ' '))"
}

check_server_side_apply() {
  local files=()
  mapfile -t files < <(applied_files_args)
  kc apply --server-side "${files[@]}" >"$S/ssa.out" 2>&1 || {
    sed 's/^/    /' "$S/ssa.out"
    echo "FAIL: kubectl apply --server-side conflicted on $(xargs -n1 basename <"$S/applied" | tr '\n' ' ')"
    return 1
  }
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
  record_pods_json
  pods_js injected-pods "$S/pods.json" "${FACT[socketPath]}" "$(istiod_sidecar_mode)"
}

# socket_missing: pods_blocked, or at the last look an init container still waits for the SPIRE
# agent's socket after 20 of its once-a-second tries, the node's agent being Ready since an earlier
# stage: the pod's CSI volume does not hold the socket the agent serves.
socket_missing() {
  pods_blocked && return 0
  local ns pod container
  while read -r ns pod container; do
    if [[ "$(api_get "/api/v1/namespaces/$ns/pods/$pod/log" "container=$container" 2>/dev/null | grep -c 'waiting for the SPIRE agent socket')" -ge 20 ]]; then
      echo "$ns/$pod: init container $container still waiting for the SPIRE agent socket after 20 s, the agent Ready"
      return 0
    fi
  done < <(pods_js running-init-containers "$S/poll-pods.json")
  return 1
}

# Every Deployment of the workloads rolled out: its pods Ready on the node.
workloads_running() {
  local ns
  record_deployments_json || return 1
  for ns in $(pods_js names "$S/deployments.json" | cut -d ' ' -f 1 | sort -u | grep -v -x istio-system); do
    wait_pods_ready "$ns" "" "the pods of namespace $ns" 1 socket_missing || return 1
  done
  wait_rollouts 60
}

rollouts_complete() { record_deployments_json && [[ -z "$(pods_js rollouts-incomplete "$S/deployments.json")" ]]; }

# wait_rollouts SECONDS: every Deployment's rollout complete, as `kubectl rollout status` waits for.
wait_rollouts() {
  wait_for "$1" "every Deployment's rollout to complete" rollouts_complete && return 0
  log "rollouts not complete: $(pods_js rollouts-incomplete "$S/deployments.json" | tr '\n' ' ')"
  return 1
}

# ---- the run ------------------------------------------------------------------------------------

# run_cpu_ms: the CPU time the run's cgroup has used so far, in milliseconds.
run_cpu_ms() {
  local ns
  read -r ns <"$(cgroup_dir cpuacct)/cpuacct.usage"
  echo $((ns / 1000000))
}

# stage NAME FUNCTION...: a step later ones depend on; the run stops at the first failing one.
# Each step's time, and the CPU the whole run (its cgroup) used meanwhile.
stage() {
  local start=$SECONDS cpu_before
  cpu_before="$(run_cpu_ms)"
  run_check "$@"
  local cpu=$(($(run_cpu_ms) - cpu_before))
  log "($((SECONDS - start))s, cpu $((cpu / 1000)).$((cpu % 1000 / 100))s)"
  [[ $FAILED -eq 0 ]] || exit 1
}

# ---- the stages of the output, in its order ----------------------------------------------------

crds_stage() {
  stage "CRDs applied and Established ($(basename "$1"))" apply_crds "$1"
}

spire_stage() {
  stage "a PersistentVolume for each of the server's claims" create_volumes
  [[ -z "${FACT[datastoreSecret]}" ]] || stage "PostgreSQL outside the cluster, and the Secret with its connection string" start_external_datastore
  stage "SPIRE applied without API warnings ($(basename "$1"))" apply "$1" recheck
  stage "SPIRE pods Ready on the node: server, controller manager, agent, CSI driver" spire_running
  stage "the kubelet registered the CSI driver (kubectl get csinode)" check_csi_registered
  stage "trust bundle ConfigMap published by the server" check_bundle_published
  stage "the agent attested with k8s_psat from the published bundle" check_agent_psat
  stage "spire-server, controller manager and agent answer /metrics at their pod IPs" check_metrics
  [[ -z "$FEDERATION" ]] || stage "the bundle endpoint served at the run's load balancer address, the bundle shared" expose_bundle_endpoint
}

identities_stage() {
  local partners
  partners="$(pods_js partner-bundles-needed "$1" "$DIR" | xargs)"
  [[ -z "$partners" ]] || stage "the bundles of $partners set as docs/federation.md says, before $(basename "$1")" set_partner_bundles $partners
  stage "ClusterSPIFFEIDs admitted by the controller manager's webhook ($(basename "$1"))" apply "$1" recheck
}

istio_stage() {
  if [[ "$ISTIO_ROUTE" == helm ]]; then
    stage "Istio installed from its Helm charts with helm/istiod-values.yaml, instead of $(basename "$1")" install_istio_helm
  else
    stage "Istio profile installed ($(basename "$1"))" install_istio "$1"
  fi
  stage "istiod Ready on the node, its injection webhook's caBundle written" istiod_running
}

workloads_stage() {
  stage "workloads applied without API warnings ($(basename "$1"))" apply "$1" recheck
  stage "workloads Ready on the node (rollout status)" workloads_running
  stage "istio-proxy of every SPIRE-enabled pod got its SVID and SPIRE's bundle over SDS" check_sds
  stage "every pod asking for injection templates got SPIRE's wiring from istiod's webhook" check_injected_pods
  stage "every SPIRE-enabled pod has one entry with its SPIFFE ID and the node's agent as parent" check_entries
  [[ -z "$(pods_js bundle-endpoint-hosts "$DIR")" ]] || federation_checks
}

after_all_stages() {
  stage "the runtime enforces every container's securityContext" check_security_contexts
  stage "the same pods as classic sidecars get their SVID and SPIRE's bundle over SDS" check_classic_sidecars
  stage "a second kubectl apply reports every object unchanged" check_reapply_unchanged
  stage "kubectl apply --server-side succeeds without conflicts" check_server_side_apply
  stage "scaling a workload adds an entry, deleting it removes it" check_scale_and_delete
  stage "Pod Security labels hold for the pods of their namespace" check_pod_security
  stage "the API server refused no request of the output's service accounts; every grant used or documented as unused" check_rbac_use
}

# Least privilege, measured: each grant of the output's roles against what its service accounts
# asked the API server for during the run.
check_rbac_use() {
  pods_js rbac-use "$DIR" "$S/logs/audit.log" >"$S/rbac-use.txt" || { cat "$S/rbac-use.txt"; return 1; }
  sed 's/^/  /' "$S/rbac-use.txt"
}

main() {
  # The harness's own Go processes (etcd, the control plane, the kubelet, containerd, kubectl)
  # collect garbage less often: with several runs at once the cores are short, memory is not. A
  # container's environment is its pod's, so the output's processes keep Go's default.
  export GOGC=400
  mkdir -p "$S/logs" "$S/volumes" "$S/node"
  : >"$S/applied"
  node_mounts
  join_run_cgroup
  network
  make_pki
  start_pods_js_server
  FACTS="$(pods_js facts "$DIR")"
  local name value
  while IFS=$'\t' read -r name value; do FACT[$name]="$value"; done < <(pods_js facts-lines "$FACTS")
  TRUST_DOMAIN="${FACT[trustDomain]}"
  AGENT_CLUSTER="${FACT[agentCluster]}"
  BUNDLE_CONFIGMAP="${FACT[bundleConfigMap]}"
  CSI_DRIVER="${FACT[csiDriver]}"
  stage "control plane up" start_control_plane
  stage "node Ready: containerd, kubelet, kube-proxy, cluster DNS" start_node
  NODE_UID="$(kc get node "$NODE" -o jsonpath='{.metadata.uid}')"
  local file role
  while read -r file role; do
    "${role}_stage" "$file"
  done < <(pods_js stages "$DIR")
  case "$AFTER_STAGES" in
    checks) after_all_stages ;;
    faults) fault_scenarios ;;
    ha) ha_scenarios ;;
    scale) scale_measurements ;;
  esac
  echo "END: every stage ran"
}

main
