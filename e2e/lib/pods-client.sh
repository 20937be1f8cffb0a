# shellcheck shell=bash
# How a run's bash calls pods.js: through the run's server (serve.js) once it listens, else as a
# process of its own. Needs E2E_DIR, and S (the run's scratch directory) for the record_ helpers.

# The port of the run's pods.js server (serve.js), on the namespace's loopback, once it listens.
PODS_JS_PORT=""
# pods_js COMMAND ARGS...: a command of pods.js. Once the run's server listens, bash asks it over
# /dev/tcp (serve.js says how) instead of starting node.
pods_js() {
  [[ -n "$PODS_JS_PORT" ]] || { node "$E2E_DIR/lib/pods.js" "$@"; return; }
  local fd status="" error_lines=0 line
  exec {fd}<>"/dev/tcp/127.0.0.1/$PODS_JS_PORT" || { echo "FAIL: the run's pods.js server is not listening on $PODS_JS_PORT" >&2; return 2; }
  printf '%s\0' "$PWD" "$#" "$@" >&"$fd"
  read -r -u "$fd" status error_lines || true
  while ((error_lines-- > 0)); do IFS= read -r -u "$fd" line && printf '%s\n' "$line" >&2; done
  cat <&"$fd"
  exec {fd}>&-
  return "${status:-2}"
}

# api_get PATH [KEY=VALUE...]: the API server's answer to GET PATH with that query, JSON or a
# log's text: the reads of polls, without a kubectl process each.
api_get() { pods_js get "$@"; }

# record_pods_json, record_identities_json, record_deployments_json: every pod, ClusterSPIFFEID,
# Deployment, as the API server lists them now, into $S/pods.json, $S/identities.json and
# $S/deployments.json for the checks that read them.
record_pods_json() { api_get /api/v1/pods >"$S/pods.json"; }
record_identities_json() { api_get /apis/spire.spiffe.io/v1alpha1/clusterspiffeids >"$S/identities.json"; }
record_deployments_json() { api_get /apis/apps/v1/deployments >"$S/deployments.json"; }
