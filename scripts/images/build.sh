#!/usr/bin/env bash
# Builds the Vireo container images with podman, without a registry:
#
#   localhost/vireo-operator:<version>   operator + device plugin (images/operator.Containerfile)
#   localhost/vireo-launcher:<version>   launcher with QEMU, OVMF, nftables, passt, xorriso
#   vireo.dev/test-guest:<content hash>  the test guest's kernel + initramfs for firmware.kernelBoot (also
#                                        tagged <version>, which examples/e2e-vm.yaml uses)
#   localhost/vireo-pause:1              pod sandbox image for the local cluster (only when asked for)
#
# <version> is package.json's version (the chart's appVersion, so the chart's default tags match). All but
# the pause image are also tagged :latest. The base image comes from scripts/images/base.sh. Node.js is not a Debian
# package here (bookworm's nodejs is 18; the project needs 20): the image gets a copy of the host's `node`
# (whatever `command -v node` resolves to) and, for the build stage, its npm.
#
# Usage:
#   scripts/images/build.sh [operator] [launcher] [test-guest] [pause]   build these (default: the first three)
#   scripts/images/build.sh --print-env                          print VIREO_IMAGE_*=ref lines (no build)
#   scripts/images/build.sh --save FILE [image...]               podman save images (docker-archive); default:
#                                                                all of the above that are built
#
# The build stage runs `npm ci` against the npm registry, so builds use the host's network (`--network=host`:
# no NAT, no bridge) and get the host's CA bundle ($SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt) as
# a build secret, for registries behind an intercepting proxy. Environment: VIREO_CACHE, BASE (override the base image).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
operator_ref=localhost/vireo-operator:$version
launcher_ref=localhost/vireo-launcher:$version
pause_ref=localhost/vireo-pause:1

# test_guest_ref prints the test guest image name, tagged by the hash of its kernel and initramfs (a tag, not
# :latest, so Kubernetes' default pull policy is IfNotPresent and a node without a registry can run it).
test_guest_ref() {
  local dir
  dir=$(guest_dir) || return 1
  echo "vireo.dev/test-guest:$(cat "$dir/vmlinuz" "$dir/initramfs.cpio.gz" | sha256sum | cut -c1-12)"
}

guest_dir() {
  local kernel
  kernel=$(bash "$repo/scripts/guest/build.sh" --print 2>/dev/null | sed -n 's/^VIREO_GUEST_KERNEL=//p')
  [[ -n $kernel ]] || return 1
  dirname "$kernel"
}

print_env() {
  echo "VIREO_IMAGE_OPERATOR=$operator_ref"
  echo "VIREO_IMAGE_LAUNCHER=$launcher_ref"
  echo "VIREO_IMAGE_TEST_GUEST=$(test_guest_ref || echo "")"
}

# node_context prints a directory laid out like the official node image (/usr/local/bin/node,
# /usr/local/lib/node_modules/npm) holding the host's Node.js, cached by its version.
node_context() {
  local node npm_dir v dir
  node=$(readlink -f "$(command -v node)") || die "node is not on PATH"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") || die "npm is not on PATH"
  [[ -f $npm_dir/package.json ]] || die "cannot find npm's package directory (got $npm_dir)"
  v=$("$node" --version)
  case $v in v20.* | v22.* | v2[4-9].*) ;; *) die "host node is $v; the images need Node 20 or newer" ;; esac
  dir=$images_cache/node-$v
  if [[ ! -x $dir/usr/local/bin/node ]]; then
    say "staging the host's Node.js $v ($node) and npm ($npm_dir) in $dir"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/usr/local/bin" "$dir.tmp/usr/local/lib/node_modules"
    cp "$node" "$dir.tmp/usr/local/bin/node"
    cp -r "$npm_dir" "$dir.tmp/usr/local/lib/node_modules/npm"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

build_app() {
  local name=$1 ref=$2 base node_dir start=$SECONDS log
  base=${BASE:-$(bash "$here/base.sh")}
  node_dir=$(node_context)
  log=$images_cache/build-$name.log
  local ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  [[ -f $ca ]] || die "no CA bundle at $ca (set SSL_CERT_FILE); npm in the build stage needs one"
  say "building $ref from images/$name.Containerfile (base $base; log: $log)"
  if ! vpodman build "${podman_run_flags[@]}" --pull=never --network=host --layers \
    -f "$repo/images/$name.Containerfile" --ignorefile "$repo/images/build.containerignore" \
    --build-context "node=$node_dir" --build-arg "BASE=$base" --secret "id=cacert,src=$ca" \
    -t "$ref" -t "${ref%:*}:latest" "$repo" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "building $ref failed; full log: $log"
  fi
  say "$ref: built in $((SECONDS - start))s, $(podman image inspect --format '{{.Size}}' "$ref" | numfmt --to=iec)"
}

build_test_guest() {
  local dir ref start=$SECONDS
  bash "$repo/scripts/guest/build.sh" >/dev/null
  dir=$(guest_dir) || die "scripts/guest/build.sh built nothing"
  ref=$(test_guest_ref)
  say "building $ref from images/test-guest.Containerfile (context $dir)"
  vpodman build "${podman_run_flags[@]}" --pull=never --network=none -f "$repo/images/test-guest.Containerfile" \
    -t "$ref" -t "${ref%:*}:$version" -t "${ref%:*}:latest" "$dir" >"$images_cache/build-test-guest.log" 2>&1 ||
    die "building $ref failed; log: $images_cache/build-test-guest.log"
  say "$ref: built in $((SECONDS - start))s"
}

# The pause image: catatonit (static, from Debian's catatonit package, which podman depends on) in pause mode.
build_pause() {
  local cat dir=$images_cache/pause-context
  cat=$(command -v catatonit || echo /usr/libexec/podman/catatonit)
  [[ -x $cat ]] || die "catatonit is missing (apt-get install -y catatonit)"
  file -L "$cat" | grep -q 'statically linked' || die "$cat is not statically linked; the pause image has no libc"
  rm -rf "$dir" && mkdir -p "$dir" && cp -L "$cat" "$dir/catatonit"
  vpodman build "${podman_run_flags[@]}" --pull=never --network=none -f "$repo/images/pause.Containerfile" \
    -t "$pause_ref" "$dir" >"$images_cache/build-pause.log" 2>&1 ||
    die "building $pause_ref failed; log: $images_cache/build-pause.log"
  say "$pause_ref: built"
}

save() {
  local file=$1
  shift
  local refs=("$@")
  if ((${#refs[@]} == 0)); then
    local guest
    guest=$(test_guest_ref) || die "no test guest built (scripts/guest/build.sh)"
    refs=("$operator_ref" "$launcher_ref" "$guest" "${guest%:*}:$version")
    if image_exists "$pause_ref"; then refs+=("$pause_ref"); fi
  fi
  for r in "${refs[@]}"; do image_exists "$r" || die "image $r is not built (run scripts/images/build.sh)"; done
  say "saving ${refs[*]} to $file"
  rm -f "$file"
  vpodman save --format docker-archive -m -o "$file" "${refs[@]}"
}

main() {
  case ${1:-} in
    --print-env)
      print_env
      return 0
      ;;
    --save)
      [[ -n ${2:-} ]] || die "--save needs a file name"
      local f=$2
      shift 2
      save "$f" "$@"
      return 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      return 0
      ;;
    -*) die "unknown option $1 (try --help)" ;;
  esac
  command -v podman >/dev/null || die "podman is not installed"
  mkdir -p "$images_cache"
  local targets=("$@") t
  ((${#targets[@]})) || targets=(operator launcher test-guest)
  exec 7>"$images_cache/build.lock"
  flock -w 3600 7 || die "timed out waiting for $images_cache/build.lock"
  for t in "${targets[@]}"; do
    case $t in
      operator) build_app operator "$operator_ref" ;;
      launcher) build_app launcher "$launcher_ref" ;;
      test-guest) build_test_guest ;;
      pause) build_pause ;;
      *) die "unknown image '$t' (operator, launcher, test-guest, pause)" ;;
    esac
  done
  print_env
}

main "$@"; exit $?
