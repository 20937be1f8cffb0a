#!/usr/bin/env bash
# End-to-end suite: applies the synthesized manifests to a real Kubernetes control plane and runs
# the real SPIRE server, controller manager and agents against them, inside a private network
# namespace. Needs root (network and mount namespaces), Go, gcc and openssl.
#
#   bash e2e/run.sh              the manifests in dist/, then the must-fail copies of them
#   bash e2e/run.sh --dir DIR    the manifests in DIR instead
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$E2E_DIR")"
CONFORMANCE_DIR="$REPO_DIR/conformance"
# shellcheck source=lib/tools.sh
source "$E2E_DIR/lib/tools.sh"

# A run that hangs past this is stopped and counted as failed.
RUN_TIMEOUT=600
PASSED=0
FAILED=0
FAILED_NAMES=()
NETNS=""
WORK=""
RUNS=0

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

cleanup() {
  if [[ -n "$NETNS" ]] && ip netns list | grep -qw "$NETNS"; then
    # Processes a killed run left behind, by PID: only ours live in this namespace.
    local pid
    for pid in $(ip netns pids "$NETNS"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns delete "$NETNS"
  fi
  [[ -z "$WORK" ]] || rm -rf "$WORK"
}

count() {
  if [[ "$1" == pass ]]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$2")
  fi
}

# run_cluster NAME DIR: one run in a fresh network namespace and scratch directory; its output
# goes to $WORK/NAME.log. Returns the run's exit status.
run_cluster() {
  local name="$1" dir="$2" rc=0
  NETNS="cdk8s-spire-istio-e2e-$$-$name"
  # Short: unix socket paths under it must stay within 108 bytes.
  RUNS=$((RUNS + 1))
  local scratch="$WORK/$RUNS"
  mkdir -p "$scratch"
  ip netns add "$NETNS"
  timeout --kill-after=20 "$RUN_TIMEOUT" ip netns exec "$NETNS" bash "$E2E_DIR/lib/cluster.sh" "$dir" "$scratch" \
    >"$WORK/$name.log" 2>&1 || rc=$?
  [[ $rc -ne 124 && $rc -ne 137 ]] || echo "FAIL: the run did not finish within ${RUN_TIMEOUT}s" >>"$WORK/$name.log"
  cleanup_run "$scratch"
  return $rc
}

cleanup_run() {
  local pid
  for pid in $(ip netns pids "$NETNS"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$NETNS"
  NETNS=""
  rm -rf "$1"
}

# The checks of the run on the real output: each PASS/FAIL line of the run counts.
check_output() {
  local dir="$1" start=$SECONDS
  printf '\n== %s\n' "$dir"
  run_cluster main "$dir" || true
  cat "$WORK/main.log"
  # A step's result is the PASS/FAIL line that repeats its "-- <name>" header.
  local line step=""
  while read -r line; do
    case "$line" in
      "-- "*) step="${line#-- }" ;;
      "PASS: $step") count pass ;;
      "FAIL: $step") count fail "$step" ;;
    esac
  done <"$WORK/main.log"
  grep -q '^PASS: Pod Security labels hold' "$WORK/main.log" || grep -q '^FAIL: ' "$WORK/main.log" ||
    count fail "the run on $dir stopped before its last check"
  echo "(${dir}: $((SECONDS - start))s)"
}

# must_fail MUTATION CAUSE_PATTERN: a copy of the output broken one way must make the run fail
# with a message matching CAUSE_PATTERN.
must_fail() {
  local mutation="$1" cause="$2" copy="$WORK/copies/$1" what start=$SECONDS
  what="$(node "$E2E_DIR/lib/pods.js" mutate "$mutation" "$BASE_DIR" "$copy")"
  printf '\n== must fail: %s (%s)\n' "$mutation" "$what"
  if run_cluster "must-fail-$mutation" "$copy"; then
    tail -n 20 "$WORK/must-fail-$mutation.log"
    echo "FAIL: the run passed on a copy where $what"
    count fail "must fail: $mutation"
  elif grep -E -q "$cause" "$WORK/must-fail-$mutation.log"; then
    grep -E '^(FAIL: |    )' "$WORK/must-fail-$mutation.log" | grep -E -m 3 "$cause|^FAIL" | sed 's/^ */  /'
    echo "PASS: must fail: $mutation (failed naming the cause: /$cause/)"
    count pass
  else
    tail -n 25 "$WORK/must-fail-$mutation.log"
    echo "FAIL: the run failed, but without a message matching /$cause/"
    count fail "must fail: $mutation"
  fi
  echo "(${mutation}: $((SECONDS - start))s)"
}

main() {
  BASE_DIR="$REPO_DIR/dist"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dir) BASE_DIR="$(cd "${2:?--dir needs a directory}" && pwd)"; shift 2 ;;
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

  check_output "$BASE_DIR"
  must_fail cluster-name 'not configured for cluster .*-elsewhere'
  must_fail class-name 'was never reconciled.*className'
  must_fail rbac-tokenreviews 'tokenreviews.*forbidden|forbidden.*tokenreviews|cannot create resource \\"tokenreviews\\"'

  printf '\n== summary (%ss)\n' "$((SECONDS - start))"
  local name
  for name in "${FAILED_NAMES[@]}"; do echo "failed: $name"; done
  echo "e2e: $PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

main "$@"
