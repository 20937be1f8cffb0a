# shellcheck shell=bash
# The images the e2e node runs. No registry is reachable, so every image the output names is
# staged here from binaries compiled from upstream sources, laid out as the upstream image lays
# them out, and written as an OCI archive for `ctr -n k8s.io images import`. Sourced by
# e2e/lib/tools.sh after the tool helpers.

OCI_IMAGE_JS="$E2E_DIR/lib/oci-image.js"
CSI_SIDECARS_MODULE="$E2E_DIR/tools/csi-sidecars"
SPIFFE_CSI_MODULE="$E2E_DIR/tools/spiffe-csi"
NODE_SANDBOX_IMAGE=registry.k8s.io/pause:3.10.1
# What `istioctl manifest generate --set hub=docker.io/istio --set tag=1.31.0` names.
ISTIO_IMAGE_HUB=docker.io/istio
GO_HTTPBIN_VERSION=v2.15.0
SPIFFE_CSI_SOURCE_VERSION="$(module_version "$SPIFFE_CSI_MODULE" github.com/spiffe/spiffe-csi)"

DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# The environment of gcr.io/distroless/static and /base.
DISTROLESS_ENV=(--env "PATH=$DEFAULT_PATH" --env "SSL_CERT_FILE=$CA_BUNDLE")

go_httpbin_bin() { echo "$TOOLS_ROOT/go-httpbin/$GO_HTTPBIN_VERSION/bin/go-httpbin"; }
spiffe_csi_driver_bin() { echo "$TOOLS_ROOT/spiffe-csi/$SPIFFE_CSI_SOURCE_VERSION/bin/spiffe-csi-driver"; }
csi_sidecar_bin() { echo "$TOOLS_ROOT/csi-sidecars/current/bin/$1"; }
pause_bin() { echo "$TOOLS_ROOT/pause/$KUBERNETES_VERSION/bin/pause"; }

package_version() { dpkg-query -W -f='${Version}' "$1"; }

# module_source_dir MODULE VERSION: the module's source in the Go module cache, downloaded if needed.
module_source_dir() {
  local dir
  dir="$(cd / && go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' || true)"
  [[ -d "$dir" ]] || die "the module proxy did not give $1@$2"
  echo "$dir"
}

go_build_spiffe_csi_driver() {
  go_build_in_module "$SPIFFE_CSI_MODULE" "" "-s -w" github.com/spiffe/spiffe-csi/cmd/spiffe-csi-driver
}

go_build_csi_sidecars() {
  go_build_in_module "$CSI_SIDECARS_MODULE" "" "-s -w" ./node-driver-registrar ./livenessprobe
}

# Upstream links the pause container statically with these flags; VERSION is its image tag.
pause_cflags() { echo "-Os -Wall -Werror -static -DVERSION=v$1"; }

# The pause image's tag, as the Kubernetes release's build/pause/Makefile sets it.
pause_source_tag() {
  sed -n 's/^TAG ?= *//p' "$(module_source_dir k8s.io/kubernetes "$KUBERNETES_VERSION")/build/pause/Makefile"
}

gcc_build_pause() {
  local src
  src="$(module_source_dir k8s.io/kubernetes "$KUBERNETES_VERSION")/build/pause/linux/pause.c"
  # shellcheck disable=SC2046
  gcc $(pause_cflags "$(pause_source_tag)") -o "$dir/bin/pause" "$src"
}

install_node_image_sources() {
  local target="github.com/mccutchen/go-httpbin/v2/cmd/go-httpbin@$GO_HTTPBIN_VERSION"
  build_tool go-httpbin "$GO_HTTPBIN_VERSION" "go install $target" go_install_plain "$target"
  build_tool spiffe-csi "$SPIFFE_CSI_SOURCE_VERSION" "go build in module $(module_hash "$SPIFFE_CSI_MODULE")" go_build_spiffe_csi_driver
  local commands_hash
  commands_hash="$(cat "$CSI_SIDECARS_MODULE"/*/*.go | sha256sum | cut -c1-16)"
  build_tool csi-sidecars current "go build in module $(module_hash "$CSI_SIDECARS_MODULE") $commands_hash" go_build_csi_sidecars
  build_tool pause "$KUBERNETES_VERSION" "gcc $(pause_cflags "$(pause_source_tag)") build/pause/linux/pause.c" gcc_build_pause
}

# stage_file ROOT SRC DEST [MODE [UID:GID]]: SRC, dereferenced, as ROOT/DEST.
stage_file() {
  local owner="${5:-0:0}"
  install -D -m "${4:-0755}" -o "${owner%:*}" -g "${owner#*:}" "$2" "$1$3"
}

# stage_text ROOT DEST MODE LINE...: a file of the given lines.
stage_text() {
  local root="$1" dest="$2" mode="$3"
  shift 3
  mkdir -p "$root${dest%/*}"
  printf '%s\n' "$@" >"$root$dest"
  chmod "$mode" "$root$dest"
}

# stage_dirs ROOT MODE UID:GID DIR...: each DIR, parents first, owned and moded alike.
stage_dirs() {
  local root="$1" mode="$2" owner="$3" dir
  shift 3
  for dir in "$@"; do
    install -d -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$root$dir"
  done
}

# stage_libraries ROOT FILE...: the shared libraries and loader the FILEs need, as ldd resolves
# them on this host, dereferenced to the same paths. A library ldd cannot find is a failure.
stage_libraries() {
  local root="$1" listing lib
  shift
  listing="$(ldd "$@" 2>/dev/null || true)"
  ! grep -q 'not found' <<<"$listing" || die "missing libraries for $*: $(grep 'not found' <<<"$listing")"
  for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ { print $1 }' <<<"$listing" | sort -u); do
    [[ -e "$root$lib" ]] || stage_file "$root" "$lib" "$lib" "$(stat -L -c %a "$lib")"
  done
}

# source_version WHAT VERSION TAG: WHAT at VERSION, saying so when VERSION is not the image's tag.
source_version() {
  if [[ "${2#v}" == "${3#v}" ]]; then
    echo "$1 $2"
  else
    echo "$1 $2 (standing in for tag $3)"
  fi
}

# gcr.io/distroless/static: accounts, CA bundle, a sticky /tmp; runs as root unless told.
stage_distroless() {
  local root="$1"
  stage_text "$root" /etc/passwd 0644 root:x:0:0:root:/root:/sbin/nologin \
    nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
  stage_text "$root" /etc/group 0644 root:x:0: nobody:x:65534: nonroot:x:65532:
  stage_file "$root" "$CA_BUNDLE" "$CA_BUNDLE" 0644
  stage_dirs "$root" 1777 0:0 /tmp
  stage_dirs "$root" 0700 0:0 /root
  stage_dirs "$root" 0755 0:0 /home
  stage_dirs "$root" 0700 65532:65532 /home/nonroot
}

# The parts of Istio's default (debug) base image its binaries use: the istio-proxy account
# (1337) the sidecar runs as, the CA bundle and a sticky /tmp.
stage_istio_base() {
  local root="$1"
  stage_text "$root" /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh istio-proxy:x:1337:1337::/home/istio-proxy:/bin/sh
  stage_text "$root" /etc/group 0644 root:x:0: istio-proxy:x:1337:
  stage_file "$root" "$CA_BUNDLE" "$CA_BUNDLE" 0644
  stage_dirs "$root" 1777 0:0 /tmp
  stage_dirs "$root" 0755 0:0 /home
  stage_dirs "$root" 0750 1337:1337 /home/istio-proxy
}

# Debian's iptables package: both multi-call binaries with their names, the xtables modules they
# load, their libraries, and the plain names pointing at the nft variant as Istio's base sets them.
stage_iptables() {
  local root="$1" path name suffix
  while read -r path; do
    if [[ -L "$path" ]]; then
      mkdir -p "$root${path%/*}"
      cp -P "$path" "$root$path"
    elif [[ -f "$path" ]]; then
      stage_file "$root" "$path" "$path" "$(stat -c %a "$path")"
    fi
  done < <(dpkg -L iptables | grep -E '^/usr/(sbin|lib/[^/]+/xtables)/')
  for name in iptables ip6tables; do
    for suffix in "" -save -restore; do ln -s "$name-nft$suffix" "$root/usr/sbin/$name$suffix"; done
  done
  stage_libraries "$root" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi "$root"/usr/lib/*/xtables/*.so
  stage_file "$root" /etc/protocols /etc/protocols 0644
  stage_dirs "$root" 0755 0:0 /run
}

# docker.io/library/busybox's layout: every applet linked in /bin, CMD sh.
stage_busybox() {
  local root="$1" applet
  stage_file "$root" /bin/busybox /bin/busybox 0755
  for applet in $(/bin/busybox --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  stage_text "$root" /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh nobody:x:65534:65534:nobody:/home:/bin/false
  stage_text "$root" /etc/group 0644 root:x:0: nobody:x:65534:
  stage_dirs "$root" 1777 0:0 /tmp
  stage_dirs "$root" 0700 0:0 /root
  IMAGE_CONFIG=(--cmd '["sh"]' --env "PATH=$DEFAULT_PATH")
}

# spiffe/spire's Dockerfile: the binary and the directories it writes in, owned by the image's
# user; the server runs as 1000:1000, the agent as root.
stage_spire() {
  local root="$1" tag="$2" kind="$3" owner="$4" socket_dir="$5" bin
  bin="$(spire_cgo_bin "spire-$kind")"
  stage_dirs "$root" 0755 "$owner" /opt /opt/spire /opt/spire/bin /etc /etc/spire "/etc/spire/$kind" \
    /run /run/spire "/run/spire/$kind" "/run/spire/$kind/$socket_dir" /tmp "/tmp/spire-$kind" "/tmp/spire-$kind/$socket_dir" \
    /var /var/lib /var/lib/spire "/var/lib/spire/$kind"
  stage_file "$root" "$CA_BUNDLE" "$CA_BUNDLE" 0755
  stage_file "$root" "$bin" "/opt/spire/bin/spire-$kind" 0755 "$owner"
  stage_libraries "$root" "$bin"
  IMAGE_CONFIG=(--user "$owner" --workdir /opt/spire --entrypoint "[\"/opt/spire/bin/spire-$kind\",\"run\"]" --env "PATH=$DEFAULT_PATH")
  IMAGE_SOURCE="$(source_version "spire-$kind of github.com/spiffe/spire" "$SPIRE_VERSION" "$tag"), built with CGO, so with this host's glibc $(package_version libc6) beside it (upstream links statically against musl)"
}

stage_controller_manager() {
  local root="$1" tag="$2"
  stage_distroless "$root"
  stage_file "$root" "$(controller_manager_bin)" /spire-controller-manager
  IMAGE_CONFIG=(--user 0 --workdir / --entrypoint '["/spire-controller-manager"]' --cmd '[]' "${DISTROLESS_ENV[@]}")
  IMAGE_SOURCE="$(source_version "github.com/spiffe/spire-controller-manager" "$E2E_CONTROLLER_MANAGER_VERSION" "$tag")"
}

stage_spiffe_csi_driver() {
  local root="$1" tag="$2"
  stage_file "$root" "$(spiffe_csi_driver_bin)" /spiffe-csi-driver
  IMAGE_CONFIG=(--workdir / --entrypoint '["/spiffe-csi-driver"]' --cmd '[]' --env "PATH=$DEFAULT_PATH")
  IMAGE_SOURCE="$(source_version "github.com/spiffe/spiffe-csi" "$SPIFFE_CSI_SOURCE_VERSION" "$tag"), the nearest release the module proxy serves"
}

# stage_csi_sidecar ROOT TAG COMMAND IMAGE-PATH UPSTREAM-MODULE
stage_csi_sidecar() {
  local root="$1" tag="$2"
  stage_distroless "$root"
  stage_file "$root" "$(csi_sidecar_bin "$3")" "$4"
  IMAGE_CONFIG=(--user 0 --entrypoint "[\"$4\"]" "${DISTROLESS_ENV[@]}")
  IMAGE_SOURCE="stand-in for $5 $tag: e2e/tools/csi-sidecars/$3 (the module proxy serves no release of $5)"
}

stage_pause() {
  local root="$1" tag="$2"
  stage_file "$root" "$(pause_bin)" /pause
  IMAGE_CONFIG=(--user 65535:65535 --entrypoint '["/pause"]' --env "PATH=$DEFAULT_PATH")
  IMAGE_SOURCE="$(source_version "build/pause/linux/pause.c of k8s.io/kubernetes $KUBERNETES_VERSION, gcc -static: pause" "$(pause_source_tag)" "$tag")"
}

stage_go_httpbin() {
  local root="$1" tag="$2"
  stage_distroless "$root"
  stage_file "$root" "$(go_httpbin_bin)" /bin/go-httpbin
  # Upstream's base is distroless/base for glibc, which its CGO-free build does not use.
  IMAGE_CONFIG=(--user 0 --cmd '["/bin/go-httpbin"]' --port 8080/tcp "${DISTROLESS_ENV[@]}")
  IMAGE_SOURCE="$(source_version "github.com/mccutchen/go-httpbin/v2" "$GO_HTTPBIN_VERSION" "$tag")"
}

stage_pilot() {
  local root="$1" tag="$2"
  stage_istio_base "$root"
  stage_file "$root" "$(istiod_bin)" /usr/local/bin/pilot-discovery
  IMAGE_CONFIG=(--user 1337:1337 --entrypoint '["/usr/local/bin/pilot-discovery"]' --env "PATH=$DEFAULT_PATH")
  IMAGE_SOURCE="$(source_version "pilot-discovery of Istio" "$ISTIO_NEW_VERSION" "$tag") ($ISTIO_NEW_MODULE_VERSION)"
}

istio_proxy_sha() {
  node -e 'const deps = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(deps.find((d) => d.name === "PROXY_REPO_SHA").lastStableSHA)' "$1/istio.deps"
}

# Istio's Dockerfile.proxyv2: pilot-agent, the sidecar beside it, the bootstrap template
# pilot-agent renders, and iptables for `pilot-agent istio-iptables` in istio-init.
stage_proxyv2() {
  local root="$1" tag="$2" istio_src
  istio_src="$(module_source_dir istio.io/istio "$ISTIO_NEW_MODULE_VERSION")"
  stage_istio_base "$root"
  stage_iptables "$root"
  stage_file "$root" "$(pilot_agent_bin)" /usr/local/bin/pilot-agent
  stage_file "$root" "$(envoy_stand_in_bin)" /usr/local/bin/envoy
  stage_libraries "$root" "$root/usr/local/bin/pilot-agent" "$root/usr/local/bin/envoy"
  stage_file "$root" "$istio_src/tools/packaging/common/envoy_bootstrap.json" /var/lib/istio/envoy/envoy_bootstrap_tmpl.json 0644
  # The proxy SHA is the one the Istio release pins; istiod reports it as the sidecar's build.
  IMAGE_CONFIG=(--workdir / --entrypoint '["/usr/local/bin/pilot-agent"]' --env "PATH=$DEFAULT_PATH"
    --env "ISTIO_META_ISTIO_PROXY_SHA=$(istio_proxy_sha "$istio_src")")
  IMAGE_SOURCE="$(source_version "pilot-agent of Istio" "$ISTIO_NEW_VERSION" "$tag") ($ISTIO_NEW_MODULE_VERSION) with its envoy_bootstrap.json; /usr/local/bin/envoy is a stand-in, not Envoy; iptables from Debian's iptables $(package_version iptables)"
}

stage_busybox_image() {
  local root="$1" tag="$2"
  stage_busybox "$root"
  IMAGE_SOURCE="stand-in for busybox $tag: Debian's busybox-static $(package_version busybox-static) with its applets linked"
}

# The curl image's pod only runs /bin/sleep and `true`, which busybox has; there is no curl.
stage_curl_image() {
  local root="$1" tag="$2"
  stage_busybox "$root"
  stage_text "$root" /etc/passwd 0644 root:x:0:0:root:/root:/bin/sh nobody:x:65534:65534:nobody:/home:/bin/false \
    "curl_user:x:100:101:Linux User,,,:/home/curl_user:/sbin/nologin"
  stage_text "$root" /etc/group 0644 root:x:0: nobody:x:65534: curl_group:x:101:curl_user
  stage_dirs "$root" 0755 0:0 /home
  stage_dirs "$root" 2755 100:101 /home/curl_user
  IMAGE_CONFIG=(--user curl_user --cmd '["sh"]' --env "PATH=$DEFAULT_PATH")
  IMAGE_SOURCE="stand-in for curl $tag: Debian's busybox-static $(package_version busybox-static) (no curl; the pod runs only sleep and true), as curl_user like upstream"
}

# stage_node_image REF ROOT: stages the image REF names into ROOT and sets IMAGE_CONFIG (options
# of oci-image.js) and IMAGE_SOURCE (what it is built from).
stage_node_image() {
  local ref="$1" root="$2" repo="${1%:*}" tag="${1##*:}"
  case "$repo" in
    ghcr.io/spiffe/spire-server) stage_spire "$root" "$tag" server 1000:1000 private ;;
    ghcr.io/spiffe/spire-agent) stage_spire "$root" "$tag" agent 0:0 public ;;
    ghcr.io/spiffe/spire-controller-manager) stage_controller_manager "$root" "$tag" ;;
    ghcr.io/spiffe/spiffe-csi-driver) stage_spiffe_csi_driver "$root" "$tag" ;;
    registry.k8s.io/sig-storage/csi-node-driver-registrar)
      stage_csi_sidecar "$root" "$tag" node-driver-registrar /csi-node-driver-registrar kubernetes-csi/node-driver-registrar ;;
    registry.k8s.io/sig-storage/livenessprobe)
      stage_csi_sidecar "$root" "$tag" livenessprobe /livenessprobe kubernetes-csi/livenessprobe ;;
    registry.k8s.io/pause) stage_pause "$root" "$tag" ;;
    "$ISTIO_IMAGE_HUB/pilot") stage_pilot "$root" "$tag" ;;
    "$ISTIO_IMAGE_HUB/proxyv2") stage_proxyv2 "$root" "$tag" ;;
    docker.io/mccutchen/go-httpbin) stage_go_httpbin "$root" "$tag" ;;
    docker.io/library/busybox) stage_busybox_image "$root" "$tag" ;;
    docker.io/curlimages/curl) stage_curl_image "$root" "$tag" ;;
    *) die "no recipe for the image $ref" ;;
  esac
}

node_image_archive() { echo "$2/$(tr '/:@' '___' <<<"$1").tar"; }

# Archives are rebuilt on every run rather than cached: writing one takes about a second, and a
# cache key would have to hash the same staged bytes the archive is made of.
build_node_image() {
  local ref="$1" out_dir="$2" root="$3"
  local IMAGE_CONFIG=() IMAGE_SOURCE=""
  mkdir "$root"
  stage_node_image "$ref" "$root"
  node "$OCI_IMAGE_JS" --ref "$ref" --root "$root" --out "$(node_image_archive "$ref" "$out_dir")" "${IMAGE_CONFIG[@]}"
  echo "image $ref <- $IMAGE_SOURCE"
}

# Every image the manifests in DIR name, what istioctl names for the pinned release, and the
# sandbox image. `auto` is Istio's placeholder for the injected proxy image.
node_image_refs() {
  {
    awk '$1 == "image:" || ($1 == "-" && $2 == "image:") { gsub(/["\047]/, "", $NF); print $NF }' "$1"/*.yaml | grep -vx auto
    echo "$ISTIO_IMAGE_HUB/proxyv2:$ISTIO_NEW_VERSION"
    echo "$ISTIO_IMAGE_HUB/pilot:$ISTIO_NEW_VERSION"
    echo "$NODE_SANDBOX_IMAGE"
  } | sort -u
}

# build_node_images MANIFEST_DIR OUT_DIR: OUT_DIR/<reference with /:@ as _>.tar for every image
# the node runs, one line per image saying what it was built from.
build_node_images() {
  local manifest_dir="$1" out_dir="$2" root="$2/.stage" refs ref status errexit="${-//[^e]/}"
  mapfile -t refs < <(node_image_refs "$manifest_dir")
  [[ ${#refs[@]} -gt 3 ]] || die "no image references in $manifest_dir/*.yaml"
  mkdir -p "$out_dir"
  for ref in "${refs[@]}"; do
    # In its own shell with errexit, so that any failing step fails this image by name.
    rm -rf "$root"
    set +e
    (set -e; build_node_image "$ref" "$out_dir" "$root")
    status=$?
    [[ -z "$errexit" ]] || set -e
    rm -rf "$root"
    [[ $status -eq 0 ]] || die "cannot build the node image $ref"
  done
}
