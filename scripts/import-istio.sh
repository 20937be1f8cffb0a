#!/usr/bin/env bash
# Generates the typed Istio classes of imports/ with `cdk8s import` from the CRDs of the Istio
# release the conformance suite pins (read from the Go module cache, downloaded when missing).
#
#   bash scripts/import-istio.sh [OUTDIR] [--drop-field KIND.FIELD]
#
# OUTDIR defaults to imports/; the two may come in either order. --drop-field removes one spec field
# from a CRD before the import.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFORMANCE_DIR="$REPO_DIR/conformance"
# shellcheck source=../conformance/lib/tools.sh
source "$CONFORMANCE_DIR/lib/tools.sh"

usage() {
  echo "usage: bash scripts/import-istio.sh [OUTDIR] [--drop-field KIND.FIELD]" >&2
  exit 2
}

outdir="" drop_field=()
while (($# > 0)); do
  case "$1" in
    --drop-field)
      (($# >= 2)) || usage
      drop_field=(--drop-field "$2")
      shift 2
      ;;
    -*) usage ;;
    *)
      [[ -z "$outdir" ]] || usage
      outdir="$1"
      shift
      ;;
  esac
done
outdir="${outdir:-$REPO_DIR/imports}"
out="$(mkdir -p "$outdir" && cd "$outdir" && pwd)"
module_dir="$(cd "$REPO_DIR" && GOFLAGS=-mod=mod go mod download -json "istio.io/istio@$ISTIO_NEW_MODULE_VERSION" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).Dir))')"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
node "$REPO_DIR/scripts/istio-crds.cjs" "$module_dir/manifests/charts/base/files/crd-all.gen.yaml" "$scratch/istio-crds.yaml" "${drop_field[@]}"
(cd "$scratch" && "$REPO_DIR/node_modules/.bin/cdk8s" import --check-upgrade false --language typescript --output "$out" istio-crds.yaml >/dev/null)
