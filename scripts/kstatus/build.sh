#!/usr/bin/env bash
# Builds vireo-kstatus (main.go here: kstatus from sigs.k8s.io/cli-utils, modules from the Go module proxy)
# and caches it outside the repository, keyed by the hash of its sources so an edit rebuilds it:
#
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/kstatus-<hash>/vireo-kstatus
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/current/vireo-kstatus   -> symlink to the latest build
#
# Usage: scripts/kstatus/build.sh [--print-path]
# It takes its own lock (not scripts/k8s/build.sh's), so CI can run it beside the Kubernetes build.
# Environment: VIREO_CACHE (cache root), VIREO_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VIREO_CACHE:-$HOME/.cache/vireo}
say() { printf '[kstatus-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

hash=$(cd "$here" && cat go.mod go.sum main.go | sha256sum | cut -c1-16)
out=$cache/bin/kstatus-$hash/vireo-kstatus
if [[ ${1:-} == --print-path ]]; then
  echo "$out"
  exit 0
fi

link_current() {
  mkdir -p "$cache/bin/current"
  ln -sfn "../kstatus-$hash/vireo-kstatus" "$cache/bin/current/.vireo-kstatus.tmp"
  mv -Tf "$cache/bin/current/.vireo-kstatus.tmp" "$cache/bin/current/vireo-kstatus"
}

main() {
  if [[ -x $out ]]; then
    say "cached at $out"
    link_current
    return 0
  fi
  command -v go >/dev/null || { say "ERROR: go is not on PATH"; exit 1; }
  mkdir -p "$(dirname "$out")" "$cache/logs"
  exec 9>"$cache/kstatus-build.lock"
  flock -w 1800 9 || { say "ERROR: timed out waiting for $cache/kstatus-build.lock"; exit 1; }
  if [[ ! -x $out ]]; then
    local log=$cache/logs/kstatus-$hash.log tmp start=$SECONDS flags
    tmp=$(mktemp "$out.tmp.XXXXXX")
    flags="$(go env GOFLAGS) -p=${VIREO_BUILD_JOBS:-2}"
    say "building (log: $log)"
    if ! (cd "$here" && CGO_ENABLED=0 GOFLAGS="${flags# }" nice -n 10 \
      go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" .) >>"$log" 2>&1; then
      rm -f "$tmp"
      tail -n 30 "$log" >&2
      say "ERROR: build failed; full log: $log"
      exit 1
    fi
    chmod +x "$tmp"
    mv -f "$tmp" "$out"
    say "built in $((SECONDS - start))s -> $out"
  fi
  link_current
}

main "$@"; exit $?
