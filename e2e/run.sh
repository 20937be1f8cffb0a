#!/usr/bin/env bash
# End-to-end suite: applies the synthesized manifests to a real Kubernetes cluster (control plane
# and one node: kubelet, containerd, runc, kube-proxy, CoreDNS) built here, on which every pod of
# the output runs from an image built here from upstream sources; inside a private network and
# mount namespace. Needs root (namespaces, cgroups), Go, gcc, openssl and Debian's apt.
#
#   bash e2e/run.sh              the manifests in dist/, the federation example in dist-federation/
#                                (two clusters joined), the faults runs (lib/faults.sh, lib/ha.sh)
#                                and the must-fail copies, each run in a cluster of its own, a few at once
#   bash e2e/run.sh --dir DIR    the manifests in DIR instead of dist/, without the federation example
#                                and the faults run
#   bash e2e/run.sh --no-copies  the manifests only, without the must-fail copies
#   bash e2e/run.sh --no-faults  without the faults runs
#   bash e2e/run.sh --faults-only the faults runs only
#   bash e2e/run.sh --scale      only the scale measurements on dist/ (lib/scale.sh), a benchmark
#   bash e2e/run.sh --scale-variant NAME  the same on a variant of e2e/apps/variant.ts
#   bash e2e/run.sh --copy NAME  the must-fail copy NAME only (repeatable; federation-* runs the
#                                federation example's two copies)
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$E2E_DIR")"
CONFORMANCE_DIR="$REPO_DIR/conformance"
# shellcheck source=lib/tools.sh
source "$E2E_DIR/lib/tools.sh"
# shellcheck source=lib/node.sh
source "$E2E_DIR/lib/node.sh"

# A run that hangs past this is stopped and counted as failed.
RUN_TIMEOUT=900
# Runs at once, not counting those that only wait (cluster.sh's idle): each is a cluster with its
# own node; more than this only queue for the 2 cores.
PARALLEL_RUNS="${E2E_PARALLEL_RUNS:-7}"
# The ha run's share of the cores against 1 for each other run. It is the longest run (its
# database outage and SPIRE's recovery go by their own clocks), so its steps go first when the
# cores are short; with equal shares the suite waited for it at the end.
HA_CPU_WEIGHT=4
PASSED=0
FAILED=0
FAILED_NAMES=()
# Every network namespace of this suite's runs starts with this.
NETNS_PREFIX="cdk8s-spire-istio-e2e-$$"
WORK=""

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

# remove_namespaces PREFIX: kills what runs left behind in the network namespaces named PREFIX or
# PREFIX-… and in their cgroups of the same names (containers run in network namespaces of their
# own, but in the run's cgroup), and deletes both.
remove_namespaces() {
  local netns pid
  for netns in $(ip netns list | awk -v prefix="$1" '$1 == prefix || index($1, prefix "-") == 1 {print $1}'); do
    for pid in $(ip netns pids "$netns"); do kill -9 "$pid" 2>/dev/null || true; done
    remove_run_cgroup "$netns"
    ip netns delete "$netns"
  done
}

cleanup() {
  local job
  for job in $(jobs -p); do kill -- "-$job" 2>/dev/null || kill "$job" 2>/dev/null || true; done
  remove_namespaces "$NETNS_PREFIX"
  [[ -z "$WORK" ]] || { restore_inotify_instances; rm -rf "$WORK"; }
}

netns_of() { echo "$NETNS_PREFIX-$1"; }

# node_images: the node images built and imported into the store every run's containerd starts
# from; then $WORK/image-store.ready, or $WORK/image-store.failed. What it did goes to the suite's
# output in one piece when it is done (a failed step exits only its subshell).
node_images() {
  local status=0
  {
    (build_node_images "$BASE_DIR" "$WORK/images") &&
      unshare --mount --propagation private bash -c 'source "$1" && seed_image_store "$2" "$3"' _ \
        "$E2E_DIR/lib/node.sh" "$WORK/images" "$WORK/image-store" || status=$?
    if [[ $status -eq 0 ]]; then
      echo "$(find "$WORK/images" -name '*.tar' | wc -l) images imported once, into the store every run's containerd starts from"
    else
      echo "FAIL: cannot build the node images or import them into a containerd store"
    fi
  } >"$WORK/images.out" 2>&1
  printf '\n== images\n%s\n\n' "$(cat "$WORK/images.out")"
  [[ $status -eq 0 ]] && : >"$WORK/image-store.ready" && return 0
  : >"$WORK/image-store.failed"
  return 1
}

# run_cluster NAME INDEX DIR [FEDERATION_DIR]: one run in a network namespace (fresh, or the one
# join_pair made), a private mount namespace and scratch directory $WORK/INDEX; its output goes to
# $WORK/NAME.log, its checks' results, as they come, to this suite's output prefixed with NAME.
# Returns the run's exit status.
run_cluster() {
  local name="$1" scratch="$WORK/$2" dir="$3" federation="${4:-}" rc=0
  local netns
  netns="$(netns_of "$2")"
  mkdir -p "$scratch"
  : >"$WORK/$name.log"
  [[ -e "/run/netns/$netns" ]] || ip netns add "$netns"
  timeout --kill-after=20 "$RUN_TIMEOUT" unshare --mount --propagation private nsenter --net="/run/netns/$netns" \
    bash "$E2E_DIR/lib/cluster.sh" "$dir" "$scratch" "$netns" "$WORK/image-store" "$federation" >"$WORK/$name.log" 2>&1 &
  local run_pid=$!
  progress "$name" "$WORK/$name.log" "$run_pid" &
  local progress_pid=$!
  wait "$run_pid" || rc=$?
  wait "$progress_pid" || true
  [[ $rc -ne 124 && $rc -ne 137 ]] || echo "FAIL: the run did not finish within ${RUN_TIMEOUT}s" >>"$WORK/$name.log"
  remove_namespaces "$netns"
  rm -rf "$scratch"
  return $rc
}

# progress NAME LOG PID: the PASS/FAIL lines of a run's log as they are written, with the run's
# name, until the process PID has ended.
progress() {
  tail -n +1 -f --pid="$3" "$2" 2>/dev/null | grep --line-buffered -E '^(PASS|FAIL): ' | sed -u "s/^/[$1] /" >&"$PROGRESS_FD"
}

# Each run writes its report to $WORK/NAME.report and one line per result to $WORK/NAME.results:
# "pass" or "fail <what failed>".
result() { echo "$*" >>"$WORK/$RUN_NAME.results"; }

# check_output NAME INDEX DIR [FEDERATION_DIR]: the checks of a run on an output as written; each
# PASS/FAIL line of the run counts.
check_output() {
  local name="$1" dir="$3" start=$SECONDS
  RUN_NAME="$name"
  echo "== $dir"
  run_cluster "$name" "$2" "$dir" "${4:-}" || true
  cat "$WORK/$name.log"
  # A step's result is the PASS/FAIL line that repeats its "-- <name>" header.
  local line step=""
  while read -r line; do
    case "$line" in
      "-- "*) step="${line#-- }" ;;
      "PASS: $step") result pass ;;
      "FAIL: $step") result fail "$step" ;;
    esac
  done <"$WORK/$name.log"
  grep -q '^END: every stage ran' "$WORK/$name.log" || grep -q '^FAIL: ' "$WORK/$name.log" ||
    result fail "the run on $dir stopped before its last check"
  echo "(${dir}: $((SECONDS - start))s)"
}

# must_fail INDEX MUTATION CAUSE_PATTERN [DIR [FEDERATION_DIR]]: a copy of the output (DIR, else
# the suite's) broken one way must make the run fail with a message matching CAUSE_PATTERN.
must_fail() {
  local index="$1" mutation="$2" cause="$3" copy="$WORK/copies/$2" what start=$SECONDS
  local log="$WORK/must-fail-$mutation.log"
  RUN_NAME="must-fail-$mutation"
  what="$(node "$E2E_DIR/lib/pods.js" mutate "$mutation" "${4:-$BASE_DIR}" "$copy")"
  echo "== must fail: $mutation ($what)"
  if run_cluster "$RUN_NAME" "$index" "$copy" "${5:-}"; then
    tail -n 20 "$log"
    echo "FAIL: the run passed on a copy where $what"
    result fail "must fail: $mutation"
  elif grep -E -q "$cause" "$log"; then
    grep -E '^(FAIL: |    )' "$log" | grep -E -m 3 "$cause|^FAIL" | sed 's/^ */  /'
    echo "PASS: must fail: $mutation (failed naming the cause: /$cause/)"
    result pass
  else
    tail -n 25 "$log"
    echo "FAIL: the run failed, but without a message matching /$cause/"
    result fail "must fail: $mutation"
  fi
  echo "(${mutation}: $((SECONDS - start))s)"
}

# in_background NAME CLUSTERS FUNCTION ARGS...: a job of CLUSTERS runs in the background, its
# report in $WORK/NAME.report, started once it fits within PARALLEL_RUNS runs at once. Each of
# its clusters holds a slot, $WORK/NAME.N.running, until the job ends or release_slot frees it; a
# run gets its slot's path in E2E_SLOT (the first; a pair's second names its own), which it
# renames while it only waits (cluster.sh's idle).
in_background() {
  local name="$1" clusters="$2" slot
  shift 2
  while (($(find "$WORK" -maxdepth 1 -name '*.running' | wc -l) + clusters > PARALLEL_RUNS)); do sleep 1; done
  for slot in $(seq "$clusters"); do : >"$WORK/$name.$slot.running"; done
  { E2E_SLOT="$WORK/$name.1.running" "$@" >"$WORK/$name.report" 2>&1 || echo "FAIL: $name stopped: $(tail -n 1 "$WORK/$name.report")" >>"$WORK/$name.report"; rm -f "$WORK/$name".*.running; } &
}

# release_slot NAME N: cluster N of job NAME has stopped; the next run may take its slot while
# the job's other cluster goes on.
release_slot() { rm -f "$WORK/$1.$2.running"; }

# join_pair INDEX_A INDEX_B DIR_A DIR_B FEDERATION_DIR: the network namespaces of two runs joined
# by a veth pair, each with a load balancer address routed to the other (traffic leaving for the
# partner is masqueraded, as pod networks of different clusters overlap), and in
# FEDERATION_DIR what cluster.sh reads: each run's address, and the partner's bundle endpoint
# names mapped to the partner's address for its cluster DNS.
join_pair() {
  local a b federation="$5" pair="$1"
  a="$(netns_of "$1")"
  b="$(netns_of "$2")"
  mkdir -p "$federation"
  ip netns add "$a"
  ip netns add "$b"
  ip link add "fed$1a" netns "$a" type veth peer name "fed$1b" netns "$b"
  ip -n "$a" addr add "10.250.$pair.1/30" dev "fed$1a"
  ip -n "$b" addr add "10.250.$pair.2/30" dev "fed$1b"
  ip -n "$a" link set "fed$1a" up
  ip -n "$b" link set "fed$1b" up
  ip -n "$a" route add "10.251.$pair.2/32" via "10.250.$pair.2"
  ip -n "$b" route add "10.251.$pair.1/32" via "10.250.$pair.1"
  ip netns exec "$a" iptables -t nat -A POSTROUTING -o "fed$1a" -j MASQUERADE
  ip netns exec "$b" iptables -t nat -A POSTROUTING -o "fed$1b" -j MASQUERADE
  echo "10.251.$pair.1" >"$federation/$a.lb"
  echo "10.251.$pair.2" >"$federation/$b.lb"
  partner_hosts "$3" "$4" "10.251.$pair.2" >"$federation/$a.hosts"
  partner_hosts "$4" "$3" "10.251.$pair.1" >"$federation/$b.hosts"
}

# partner_hosts DIR PARTNER_DIR ADDRESS: hosts lines mapping the names of DIR's bundle endpoint
# URLs for the partner's trust domain to ADDRESS.
partner_hosts() {
  local partner td host
  partner="$(node "$E2E_DIR/lib/pods.js" facts "$2" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).trustDomain)')"
  while read -r td host; do
    [[ "$td" != "$partner" ]] || echo "$3 $host"
  done < <(node "$E2E_DIR/lib/pods.js" bundle-endpoint-hosts "$1")
}

FEDERATION_DIR="$REPO_DIR/dist-federation"

# join_or_fail INDEX_A INDEX_B FEDERATION_DIR NAME...: join_pair for the federation example, or
# each named run's report and result saying why it could not start.
join_or_fail() {
  local log="$WORK/join-$1.log" name
  join_pair "$1" "$2" "$FEDERATION_DIR/east" "$FEDERATION_DIR/west" "$3" >"$log" 2>&1 && return 0
  for name in "${@:4}"; do
    echo "FAIL: the two clusters' network namespaces could not be joined: $(tail -n 1 "$log")" >"$WORK/$name.report"
    echo "fail $name: the clusters could not be joined" >"$WORK/$name.results"
  done
  return 1
}

# The federation example as written, in two clusters joined as join_pair says; west installs
# Istio the Helm way of docs/applying.md, east the istioctl way.
federation_example() {
  local federation="$WORK/federation-$1"
  join_or_fail "$1" "$2" "$federation" federation-east federation-west || return 1
  { check_output federation-east "$1" "$FEDERATION_DIR/east" "$federation" >"$WORK/federation-east.report" 2>&1; release_slot federation 1; } &
  { E2E_SLOT="$WORK/federation.2.running" ISTIO_ROUTE=helm check_output federation-west "$2" "$FEDERATION_DIR/west" "$federation" >"$WORK/federation-west.report" 2>&1; release_slot federation 2; } &
  wait
}

# synth_variant NAME OUTDIR: the suite's output with one server setting changed (e2e/apps/variant.ts).
synth_variant() {
  (cd "$REPO_DIR" && node --require ./scripts/register-typescript.cjs e2e/apps/variant.ts "$1" "$2") 2>&1 | tail -n 1
}

# fault_run INDEX: the faults a running mesh must survive (lib/faults.sh), on the suite's output
# with SVIDs short enough to be renewed while the run watches.
fault_run() {
  local variant="$WORK/variants/faults"
  echo "(synthesized with $(synth_variant short-svid-ttl "$variant"))"
  AFTER_STAGES=faults check_output faults "$1" "$variant"
}

# ha_run INDEX: the high-availability faults (lib/ha.sh), on the suite's output with three server
# replicas on a PostgreSQL outside the cluster.
ha_run() {
  local variant="$WORK/variants/ha"
  echo "(synthesized with $(synth_variant ha-postgres "$variant"))"
  RUN_CPU_WEIGHT=$HA_CPU_WEIGHT AFTER_STAGES=ha check_output ha "$1" "$variant"
}

# ha_copy_run INDEX: the high-availability run's must-fail copy, whose server liveness follows
# SPIRE's /live: every replica restarts while the database is away.
ha_copy_run() {
  local variant="$WORK/variants/ha-copy"
  synth_variant ha-postgres "$variant" >/dev/null
  AFTER_STAGES=ha must_fail "$1" liveness-on-datastore 'server replicas restarted while the database was away' "$variant"
}

# faults_copy_run INDEX: the faults run's must-fail copy, whose server keeps its data in an
# emptyDir: the scenario that takes the server's pod down and back alone, which must find the CA
# key and the entries lost.
faults_copy_run() {
  FAULTS_ONLY=fault_server_pod_down AFTER_STAGES=faults must_fail "$1" server-data-ephemeral \
    'the trust bundle changed|the X.509 authorities changed|entries lost'
}

# raise_inotify_instances N: the kernel's inotify instances per user raised to at least N for this
# suite, as nodes that run many pods are tuned (every istio-proxy of a pod, all running as the same
# user, takes some: the default 128 runs out before 100 pods); cleanup restores the value.
raise_inotify_instances() {
  local was
  was="$(sysctl -n fs.inotify.max_user_instances)"
  ((was < $1)) || return 0
  echo "$was" >"$WORK/inotify-instances.was"
  sysctl -qw "fs.inotify.max_user_instances=$1"
  echo "fs.inotify.max_user_instances raised from $was to $1 while the suite runs"
}

restore_inotify_instances() {
  [[ ! -f "$WORK/inotify-instances.was" ]] || sysctl -qw "fs.inotify.max_user_instances=$(cat "$WORK/inotify-instances.was")"
}

# scale_run INDEX: the scale measurements (lib/scale.sh) on the suite's output, or on the variant
# SCALE_VARIANT names (e2e/apps/variant.ts).
scale_run() {
  local dir="$BASE_DIR"
  if [[ -n "$SCALE_VARIANT" ]]; then
    dir="$WORK/variants/$SCALE_VARIANT"
    echo "(synthesized with $(synth_variant "$SCALE_VARIANT" "$dir"))"
  fi
  AFTER_STAGES=scale check_output scale "$1" "$dir"
}

# Its must-fail copies, also as a pair: east in the order the example had before its federated
# identities became a stage of their own (SPIRE refuses their entries), west with a wrong
# endpoint SPIFFE ID for east (the bundle fetch fails).
federation_copies() {
  local federation="$WORK/federation-$1"
  join_or_fail "$1" "$2" "$federation" must-fail-federation-old-order must-fail-federation-endpoint-id || return 1
  { must_fail "$1" federation-old-order 'unable to find federated bundle' "$FEDERATION_DIR/east" "$federation" \
    >"$WORK/must-fail-federation-old-order.report" 2>&1; release_slot federation-copies 1; } &
  { E2E_SLOT="$WORK/federation-copies.2.running" must_fail "$2" federation-endpoint-id 'unexpected ID' "$FEDERATION_DIR/west" "$federation" \
    >"$WORK/must-fail-federation-endpoint-id.report" 2>&1; release_slot federation-copies 2; } &
  wait
}

# copy_asked NAME: the must-fail copy NAME runs: no --copy chose others.
copy_asked() { [[ ${#ONLY_COPIES[@]} -eq 0 || " ${ONLY_COPIES[*]} " == *" $1 "* ]]; }

# faults_copy_asked NAME: the faults runs' must-fail copy NAME runs: named by --copy, or with the
# faults runs and the copies.
faults_copy_asked() {
  [[ ${#ONLY_COPIES[@]} -gt 0 || ("$WITH_FAULTS" == true && "$WITH_COPIES" == true) ]] && copy_asked "$1"
}

# Each run waits mostly on its processes, so they all go at once; their reports follow in order.
# The longest start first (the pairs, the faults runs, main, then the copies by how long they
# took: the list below), so that no slot waits for a pair and the last to start end soon.
run_all() {
  local names=() index=1 mutation cause
  # Runs that wait free their slot (cluster.sh's idle): more clusters than PARALLEL_RUNS may live.
  raise_inotify_instances 1024
  if [[ "$SCALE_ONLY" == true ]]; then
    names+=(scale)
    in_background scale 1 scale_run 25
    wait
    report_all "${names[@]}"
    return
  fi
  [[ ${#ONLY_COPIES[@]} -gt 0 || "$WITH_MAIN" != true ]] || names+=(main)
  [[ ${#ONLY_COPIES[@]} -gt 0 || "$WITH_FAULTS" != true ]] || names+=(faults ha)
  if [[ "$WITH_FEDERATION" == true && ${#ONLY_COPIES[@]} -eq 0 ]]; then
    names+=(federation-east federation-west)
    in_background federation 2 federation_example 20 21
  fi
  if [[ "$WITH_FEDERATION" == true && "$WITH_COPIES" == true ]] && [[ ${#ONLY_COPIES[@]} -eq 0 || " ${ONLY_COPIES[*]} " == *" federation-"* ]]; then
    names+=(must-fail-federation-old-order must-fail-federation-endpoint-id)
    in_background federation-copies 2 federation_copies 22 23
  fi
  [[ ${#ONLY_COPIES[@]} -gt 0 || "$WITH_FAULTS" != true ]] || in_background ha 1 ha_run 26
  if faults_copy_asked liveness-on-datastore; then
    names+=(must-fail-liveness-on-datastore)
    in_background must-fail-liveness-on-datastore 1 ha_copy_run 27
  fi
  [[ ${#ONLY_COPIES[@]} -gt 0 || "$WITH_FAULTS" != true ]] || in_background faults 1 fault_run 24
  if faults_copy_asked server-data-ephemeral; then
    names+=(must-fail-server-data-ephemeral)
    in_background must-fail-server-data-ephemeral 1 faults_copy_run 28
  fi
  [[ ${#ONLY_COPIES[@]} -gt 0 || "$WITH_MAIN" != true ]] || in_background main 1 check_output main 0 "$BASE_DIR"
  while [[ "$WITH_COPIES" == true ]] && read -r mutation cause; do
    copy_asked "$mutation" || continue
    names+=("must-fail-$mutation")
    in_background "must-fail-$mutation" 1 must_fail "$index" "$mutation" "$cause"
    index=$((index + 1))
  done <<'MUST_FAIL'
identity-selector no SVID \(SDS resource default\)
agent-socket-dir waiting for the SPIRE agent socket|signed by istiod's CA
template-socket-path signed by istiod's CA|no SVID
class-name was never reconciled.*className
rbac-tokenreviews tokenreviews.*forbidden|forbidden.*tokenreviews|cannot create resource \\"tokenreviews\\"
template-csi-driver csi\.spiffe\.example not found in the list of registered CSI drivers
cluster-name not configured for cluster .*-elsewhere
kubelet-verification x509
metrics-host spire-server-0 container spire-server: .*/metrics has no spire_ series
MUST_FAIL
  wait
  report_all "${names[@]}"
}

# report_all NAME...: each run's report, in order, and its results counted.
report_all() {
  local name outcome what
  for name in "$@"; do
    printf '\n'
    cat "$WORK/$name.report" 2>/dev/null || echo "FAIL: $name left no report"
    [[ -s "$WORK/$name.results" ]] || echo "fail $name left no result" >"$WORK/$name.results"
    while read -r outcome what; do
      if [[ "$outcome" == pass ]]; then
        PASSED=$((PASSED + 1))
      else
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$what")
      fi
    done <"$WORK/$name.results"
  done
}

main() {
  BASE_DIR="$REPO_DIR/dist"
  WITH_COPIES=true
  WITH_FEDERATION=true
  WITH_FAULTS=true
  WITH_MAIN=true
  SCALE_ONLY=false
  SCALE_VARIANT=""
  ONLY_COPIES=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dir) BASE_DIR="$(cd "${2:?--dir needs a directory}" && pwd)"; WITH_FEDERATION=false; WITH_FAULTS=false; shift 2 ;;
      --no-copies) WITH_COPIES=false; shift ;;
      --no-faults) WITH_FAULTS=false; shift ;;
      --faults-only) WITH_MAIN=false; WITH_FEDERATION=false; WITH_COPIES=false; shift ;;
      --scale) SCALE_ONLY=true; RUN_TIMEOUT=1800; shift ;;
      --scale-variant) SCALE_ONLY=true; RUN_TIMEOUT=1800; SCALE_VARIANT="${2:?--scale-variant needs a variant of e2e/apps/variant.ts}"; shift 2 ;;
      --copy) ONLY_COPIES+=("${2:?--copy needs the name of a must-fail copy}"); shift 2 ;;
      -h | --help) usage ;;
      *) echo "unknown argument: $1" >&2; usage ;;
    esac
  done
  local start=$SECONDS
  [[ "$(id -u)" -eq 0 ]] || die "the e2e suite needs root: it creates network and mount namespaces"
  local tool
  for tool in ip unshare openssl curl gcc node; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed; the e2e suite needs it"
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-spire-istio-e2e.XXXXXX")"
  trap cleanup EXIT

  printf '\n== tools\n'
  install_e2e_tools
  printf '\n== runs (%s at once)\n' "$PARALLEL_RUNS"
  # Each run's report goes to a file; its progress to this suite's output as it comes.
  exec {PROGRESS_FD}>&1
  # Only a node needs the images (its containerd waits for the store): the first runs start their
  # control planes meanwhile.
  node_images &

  run_all
  [[ -e "$WORK/image-store.ready" ]] || { echo "e2e: the node images could not be made (== images above)"; exit 1; }

  printf '\n== summary (%ss)\n' "$((SECONDS - start))"
  local name
  for name in "${FAILED_NAMES[@]}"; do echo "failed: $name"; done
  echo "e2e: $PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

main "$@"
