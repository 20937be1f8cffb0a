#!/usr/bin/env bash
# End-to-end suite: applies the synthesized manifests to a real Kubernetes cluster (control plane
# and one node: kubelet, containerd, runc, kube-proxy, CoreDNS) built here, on which every pod of
# the output runs from an image built here from upstream sources; inside a private network and
# mount namespace. Needs root (namespaces, cgroups), Go, gcc, openssl and Debian's apt.
#
#   bash e2e/run.sh              the manifests in dist/ and the must-fail copies of them, each
#                                run in a cluster of its own, a few at once
#   bash e2e/run.sh --dir DIR    the manifests in DIR instead
#   bash e2e/run.sh --no-copies  the manifests only, without the must-fail copies
#   bash e2e/run.sh --copy NAME  the must-fail copy NAME only (repeatable)
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$E2E_DIR")"
CONFORMANCE_DIR="$REPO_DIR/conformance"
# shellcheck source=lib/tools.sh
source "$E2E_DIR/lib/tools.sh"
# shellcheck source=lib/node.sh
source "$E2E_DIR/lib/node.sh"

# A run that hangs past this is stopped and counted as failed.
RUN_TIMEOUT=600
# Runs at once: each is a cluster with its own node; more than this only queue for the 2 cores.
PARALLEL_RUNS="${E2E_PARALLEL_RUNS:-3}"
PASSED=0
FAILED=0
FAILED_NAMES=()
# Every network namespace of this suite's runs starts with this.
NETNS_PREFIX="cdk8s-spire-istio-e2e-$$"
WORK=""

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
  [[ -z "$WORK" ]] || rm -rf "$WORK"
}

# run_cluster NAME INDEX DIR: one run in a fresh network namespace, a private mount namespace and
# scratch directory $WORK/INDEX; its output goes to $WORK/NAME.log, its checks' results, as they
# come, to this suite's output prefixed with NAME. Returns the run's exit status.
run_cluster() {
  local name="$1" scratch="$WORK/$2" dir="$3" rc=0
  local netns="$NETNS_PREFIX-$2"
  mkdir -p "$scratch"
  : >"$WORK/$name.log"
  ip netns add "$netns"
  timeout --kill-after=20 "$RUN_TIMEOUT" unshare --mount --propagation private nsenter --net="/run/netns/$netns" \
    bash "$E2E_DIR/lib/cluster.sh" "$dir" "$scratch" "$netns" "$WORK/images" >"$WORK/$name.log" 2>&1 &
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

# The checks of the run on the real output: each PASS/FAIL line of the run counts.
check_output() {
  local dir="$1" start=$SECONDS
  RUN_NAME=main
  echo "== $dir"
  run_cluster main 0 "$dir" || true
  cat "$WORK/main.log"
  # A step's result is the PASS/FAIL line that repeats its "-- <name>" header.
  local line step=""
  while read -r line; do
    case "$line" in
      "-- "*) step="${line#-- }" ;;
      "PASS: $step") result pass ;;
      "FAIL: $step") result fail "$step" ;;
    esac
  done <"$WORK/main.log"
  grep -q '^PASS: Pod Security labels hold' "$WORK/main.log" || grep -q '^FAIL: ' "$WORK/main.log" ||
    result fail "the run on $dir stopped before its last check"
  echo "(${dir}: $((SECONDS - start))s)"
}

# must_fail INDEX MUTATION CAUSE_PATTERN: a copy of the output broken one way must make the run
# fail with a message matching CAUSE_PATTERN.
must_fail() {
  local index="$1" mutation="$2" cause="$3" copy="$WORK/copies/$2" what start=$SECONDS
  local log="$WORK/must-fail-$mutation.log"
  RUN_NAME="must-fail-$mutation"
  what="$(node "$E2E_DIR/lib/pods.js" mutate "$mutation" "$BASE_DIR" "$copy")"
  echo "== must fail: $mutation ($what)"
  if run_cluster "$RUN_NAME" "$index" "$copy"; then
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

# in_background NAME FUNCTION ARGS...: a run as a background job, its report in $WORK/NAME.report,
# started once fewer than PARALLEL_RUNS runs are going.
in_background() {
  local name="$1"
  shift
  while [[ "$(cat "$WORK"/*.running 2>/dev/null | grep -c .)" -ge "$PARALLEL_RUNS" ]]; do sleep 1; done
  echo "$name" >"$WORK/$name.running"
  { "$@" >"$WORK/$name.report" 2>&1; rm -f "$WORK/$name.running"; } &
}

# Each run waits mostly on its processes, so they all go at once; their reports follow in order.
run_all() {
  local names=() index=1 mutation cause
  if [[ ${#ONLY_COPIES[@]} -eq 0 ]]; then
    names+=(main)
    in_background main check_output "$BASE_DIR"
  fi
  while [[ "$WITH_COPIES" == true ]] && read -r mutation cause; do
    [[ ${#ONLY_COPIES[@]} -eq 0 || " ${ONLY_COPIES[*]} " == *" $mutation "* ]] || continue
    names+=("must-fail-$mutation")
    in_background "must-fail-$mutation" must_fail "$index" "$mutation" "$cause"
    index=$((index + 1))
  done <<'MUST_FAIL'
cluster-name not configured for cluster .*-elsewhere
metrics-host spire-server-0 container spire-server: .*/metrics has no spire_ series
class-name was never reconciled.*className
template-csi-driver csi\.spiffe\.example not found in the list of registered CSI drivers
template-socket-path signed by istiod's CA|no SVID
identity-selector no SVID \(SDS resource default\)
agent-socket-dir waiting for the SPIRE agent socket|signed by istiod's CA
kubelet-verification x509
rbac-tokenreviews tokenreviews.*forbidden|forbidden.*tokenreviews|cannot create resource \\"tokenreviews\\"
MUST_FAIL
  wait
  local name outcome what
  for name in "${names[@]}"; do
    printf '\n'
    cat "$WORK/$name.report"
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
  ONLY_COPIES=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dir) BASE_DIR="$(cd "${2:?--dir needs a directory}" && pwd)"; shift 2 ;;
      --no-copies) WITH_COPIES=false; shift ;;
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
  printf '\n== images\n'
  build_node_images "$BASE_DIR" "$WORK/images"
  printf '\n== runs (%s at once)\n' "$PARALLEL_RUNS"
  # Each run's report goes to a file; its progress to this suite's output as it comes.
  exec {PROGRESS_FD}>&1

  run_all

  printf '\n== summary (%ss)\n' "$((SECONDS - start))"
  local name
  for name in "${FAILED_NAMES[@]}"; do echo "failed: $name"; done
  echo "e2e: $PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

main "$@"
