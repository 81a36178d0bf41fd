#!/usr/bin/env bash
# Builds the Kubernetes binaries the integration tests run, from the Go module proxy (this machine has no
# container registry and no GitHub), and caches them outside the repository keyed by component and version:
#
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/<component>-<version>/<component>
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/current/<component>   -> symlink to the pinned build
#
# A component is built only when its binary is missing, so a second run costs a few seconds.
#
# Usage:
#   scripts/k8s/build.sh [component...]   build what is missing; default: kube-apiserver kubectl etcd helm
#   scripts/k8s/build.sh --print-env      print `export VIREO_...=` lines for the harness and CI (no build)
#   scripts/k8s/build.sh --list           list the known components and their pinned versions
#
# Components: kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm
# (all k8s.io/kubernetes/cmd/<name> from one wrapper module), etcd etcdctl etcdutl (one etcd wrapper
# module), helm (go install). Versions are pinned in versions.env next to this script.
#
# Environment: VIREO_CACHE (cache root), VIREO_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${VIREO_CACHE:-$HOME/.cache/vireo}
bin_root=$cache/bin
src_root=$cache/src
log_root=$cache/logs
default_components=(kube-apiserver kubectl etcd helm)
k8s_components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm)
etcd_components=(etcd etcdctl etcdutl)

say() { printf '[k8s-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

contains() {
  local needle=$1 x
  shift
  for x in "$@"; do [[ $x == "$needle" ]] && return 0; done
  return 1
}

kind_of() {
  if contains "$1" "${k8s_components[@]}"; then
    echo k8s
  elif contains "$1" "${etcd_components[@]}"; then
    echo etcd
  elif [[ $1 == helm ]]; then
    echo helm
  else
    return 1
  fi
}

version_of() {
  case $(kind_of "$1") in
    k8s) echo "$K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
  esac
}

bin_path() { echo "$bin_root/$1-$(version_of "$1")/$1"; }

print_env() {
  echo "export VIREO_CACHE=$cache"
  echo "export VIREO_K8S_BIN=$bin_root/current"
  echo "export VIREO_K8S_VERSION=$K8S_VERSION"
  echo "export VIREO_ETCD_VERSION=$ETCD_VERSION"
  echo "export VIREO_HELM_VERSION=$HELM_VERSION"
}

# go_env runs go with the settings every build here shares: a shared module/build cache (Go's defaults),
# two parallel compile jobs and low priority so a build does not starve tests on a 2-core machine.
go_env() {
  local flags
  flags="$(go env GOFLAGS) -p=${VIREO_BUILD_JOBS:-2}"
  GOFLAGS="${flags# }" nice -n 10 go "$@"
}

# module_json prints `go mod download -json` for module@version (downloads it on first use).
module_json() { go_env mod download -json "$1"; }

# release_time prints the commit time the proxy records for a tag; used as buildDate so rebuilding the
# same release gives the same version output.
release_time() { jq -r '.Time // "1970-01-01T00:00:00Z"' "$(module_json "$1" | jq -r .Info)"; }

# release_commit prints the git commit the proxy records for a tag, or nothing when it does not say.
release_commit() { jq -r '.Origin.Hash // ""' "$(module_json "$1" | jq -r .Info)"; }

# write_k8s_wrapper creates the wrapper module for k8s.io/kubernetes in $1. k/k cannot be built as a
# dependency as is: its go.mod requires its staging modules at v0.0.0 and points them at ./staging with
# `replace`, which only the main module may do. The wrapper turns each of those replaces into the
# published module of the same release (v1.X.Y -> v0.X.Y), generated from k/k's own go.mod.
write_k8s_wrapper() {
  local dir=$1 info gomod staging replaces old new
  # Every step checks its status: this runs inside `$(...) || ...`, where bash ignores `set -e`.
  info=$(module_json "k8s.io/kubernetes@$K8S_VERSION")
  gomod=$(jq -r '.GoMod // ""' <<<"$info")
  [[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION: $(jq -r '.Error // "no go.mod"' <<<"$info")"
  staging="v0.${K8S_VERSION#v1.}"
  (cd "$dir" && go mod init vireo.local/k8s-wrapper >/dev/null 2>&1 &&
    go mod edit -require="k8s.io/kubernetes@$K8S_VERSION") || die "cannot create the wrapper go.mod in $dir"
  replaces=$(go mod edit -json "$gomod" | jq -r '.Replace[]? | "\(.Old.Path) \(.New.Path)@\(.New.Version // "")"') &&
    [[ -n $replaces ]] || die "k8s.io/kubernetes@$K8S_VERSION go.mod ($gomod) has no replace block"
  while read -r old new; do
    case $new in
      ./staging/src/*@) (cd "$dir" && go mod edit -replace="$old=$old@$staging") ;;
      ./* | ../*) die "k8s.io/kubernetes go.mod replaces $old with local path ${new%@} outside staging" ;;
      *) (cd "$dir" && go mod edit -replace="$old=$new") ;;
    esac || die "cannot add the replace for $old"
  done <<<"$replaces"
  # k/k's godebug settings only take effect from the main module, so carry them over. Parsed from the
  # text because `go mod edit -json` leaves godebug lines out.
  awk '/^godebug \(/ {b=1; next} b && /^\)/ {b=0} b {print $1} /^godebug [^(]/ {print $2}' "$gomod" |
    while read -r kv; do (cd "$dir" && go mod edit -godebug="$kv") || exit 1; done ||
    die "cannot copy k/k's godebug settings"
  say "kubernetes $K8S_VERSION wrapper: $(grep -c "=> k8s.io/.* $staging" "$dir/go.mod") staging modules replaced by $staging"
}

# write_etcd_wrapper creates the wrapper module for etcd in $1. etcd's modules replace their siblings
# with ../ paths, which makes `go install module@version` refuse them; their requires already name the
# published sibling versions, so a wrapper that simply requires the module is enough.
write_etcd_wrapper() {
  local dir=$1
  (cd "$dir" && go mod init vireo.local/etcd-wrapper >/dev/null 2>&1) || die "cannot create the wrapper go.mod in $dir"
}

# ensure_wrapper <kind> prints the wrapper module directory for kind, creating it once (atomically, so an
# interrupted run leaves nothing half-made behind).
ensure_wrapper() {
  local kind=$1 version dir tmp
  version=$(version_of "$([[ $kind == k8s ]] && echo kubectl || echo etcd)")
  dir=$src_root/$kind-wrapper-$version
  if [[ ! -f $dir/go.mod ]]; then
    say "$kind $version: creating wrapper module in $dir"
    mkdir -p "$src_root"
    rm -rf "$dir".tmp.* # left by an interrupted run; we hold the build lock
    tmp=$(mktemp -d "$dir.tmp.XXXXXX") || die "cannot create a directory under $src_root"
    "write_${kind}_wrapper" "$tmp" || die "cannot create the $kind wrapper module"
    rm -rf "$dir" && mv -T "$tmp" "$dir" || die "cannot move the wrapper module into $dir"
  fi
  echo "$dir"
}

# add_tool records pkg as a `tool` of the wrapper module and resolves its dependencies, once per package.
add_tool() {
  local dir=$1 pkg=$2 log=$3
  if (cd "$dir" && go mod edit -json | jq -e --arg p "$pkg" '[.Tool[]?.Path] | index($p)' >/dev/null); then
    return 0
  fi
  say "resolving dependencies of $pkg (downloads modules on a cold cache)"
  (cd "$dir" && go mod edit -tool="$pkg" && go_env mod tidy) >>"$log" 2>&1 ||
    {
      (cd "$dir" && go mod edit -droptool="$pkg") || true
      return 1
    }
}

k8s_ldflags() {
  local major minor commit date flags="-s -w" pkg
  major=${K8S_VERSION#v}
  major=${major%%.*}
  minor=${K8S_VERSION#v*.}
  minor=${minor%%.*}
  commit=$(release_commit "k8s.io/kubernetes@$K8S_VERSION")
  date=$(release_time "k8s.io/kubernetes@$K8S_VERSION")
  # Both packages report versions: component-base for servers (/version, which Helm reads) and client-go
  # for clients such as kubectl. Same variables as k/k's hack/lib/version.sh sets.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

# build_from_wrapper <component> <tmp-output> <log>
build_from_wrapper() {
  local c=$1 out=$2 log=$3 kind dir pkg ldflags="-s -w" cgo=0
  kind=$(kind_of "$c")
  dir=$(ensure_wrapper "$kind") || return 1
  case $kind in
    k8s)
      pkg=k8s.io/kubernetes/cmd/$c
      ldflags=$(k8s_ldflags) || return 1
      # Upstream links every binary statically except the kubelet (hack/lib/golang.sh).
      [[ $c == kubelet ]] && cgo=1
      ;;
    etcd)
      case $c in
        etcd) pkg=go.etcd.io/etcd/server/v3 ;;
        *) pkg=go.etcd.io/etcd/$c/v3 ;;
      esac
      (cd "$dir" && go mod edit -require="$pkg@$ETCD_VERSION")
      ;;
  esac
  add_tool "$dir" "$pkg" "$log" || return 1
  say "compiling $pkg (log: $log)"
  (cd "$dir" && CGO_ENABLED=$cgo go_env build -trimpath -ldflags "$ldflags" -o "$out" "$pkg") >>"$log" 2>&1
}

build_helm() {
  local out=$1 log=$2 gomod client_go major minor gobin
  gomod=$(module_json "helm.sh/helm/v3@$HELM_VERSION" | jq -r .GoMod) || return 1
  # Helm's Makefile derives the Kubernetes version it assumes for `helm template`/`helm lint` from the
  # client-go it is built with (v0.X.Y -> 1.X); without it Helm falls back to v1.20.
  client_go=$(go mod edit -json "$gomod" | jq -r '.Require[] | select(.Path == "k8s.io/client-go") | .Version')
  major=${client_go#v}
  major=$((${major%%.*} + 1))
  minor=${client_go#v*.}
  minor=${minor%%.*}
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=$(release_commit "helm.sh/helm/v3@$HELM_VERSION")"
  local p
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $p.k8sVersionMajor=$major -X $p.k8sVersionMinor=$minor"
  done
  gobin=$(mktemp -d "$(dirname "$out")/gobin.XXXXXX")
  say "compiling helm.sh/helm/v3/cmd/helm@$HELM_VERSION (log: $log)"
  if (CGO_ENABLED=0 GOBIN=$gobin go_env install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >>"$log" 2>&1; then
    mv -f "$gobin/helm" "$out"
    rm -rf "$gobin"
  else
    rm -rf "$gobin"
    return 1
  fi
}

# version_output prints what the binary says about its own version, to check the ldflags took effect.
version_output() {
  case $1 in
    kubectl) "$2" version --client 2>&1 ;;
    helm) "$2" version --short 2>&1 ;;
    etcdctl | etcdutl) "$2" version 2>&1 ;;
    *) "$2" --version 2>&1 ;;
  esac
}

link_current() {
  local c=$1 v=$2
  mkdir -p "$bin_root/current"
  ln -sfn "../$c-$v/$c" "$bin_root/current/.$c.tmp"
  mv -Tf "$bin_root/current/.$c.tmp" "$bin_root/current/$c"
}

build_one() {
  local c=$1 v out log tmp start reported
  v=$(version_of "$c")
  out=$(bin_path "$c")
  if [[ -x $out ]]; then
    say "$c $v: cached at $out"
    link_current "$c" "$v"
    return 0
  fi
  mkdir -p "$(dirname "$out")" "$log_root"
  log=$log_root/$c-$v.log
  printf '=== %s build of %s %s\n' "$(date -u +%FT%TZ)" "$c" "$v" >>"$log"
  tmp=$(mktemp "$out.tmp.XXXXXX")
  start=$SECONDS
  say "$c $v: building"
  if [[ $c == helm ]]; then
    build_helm "$tmp" "$log" || {
      rm -f "$tmp"
      tail -n 30 "$log" >&2
      die "building $c $v failed; full log: $log"
    }
  else
    build_from_wrapper "$c" "$tmp" "$log" || {
      rm -f "$tmp"
      tail -n 30 "$log" >&2
      die "building $c $v failed; full log: $log"
    }
  fi
  chmod +x "$tmp"
  reported=$(version_output "$c" "$tmp" || true)
  if ! grep -qF "${v#v}" <<<"$reported"; then
    rm -f "$tmp"
    die "$c reports '$reported', expected version $v; the version ldflags did not apply (log: $log)"
  fi
  mv -f "$tmp" "$out"
  say "$c $v: built in $((SECONDS - start))s -> $out"
  link_current "$c" "$v"
}

main() {
  local components=()
  case ${1:-} in
    --print-env)
      print_env
      return 0
      ;;
    --list)
      local c
      for c in "${k8s_components[@]}" "${etcd_components[@]}" helm; do echo "$c $(version_of "$c")"; done
      return 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      return 0
      ;;
    -*) die "unknown option $1 (try --help)" ;;
  esac
  if (($# > 0)); then components=("$@"); else components=("${default_components[@]}"); fi
  local c
  for c in "${components[@]}"; do
    kind_of "$c" >/dev/null || die "unknown component '$c' (known: ${k8s_components[*]} ${etcd_components[*]} helm)"
  done
  command -v go >/dev/null || die "go is not on PATH; install Go 1.26 or newer"
  command -v jq >/dev/null || die "jq is not on PATH (apt-get install -y jq)"
  mkdir -p "$bin_root"
  # One build at a time per cache: several checkouts on one machine share it.
  exec 9>"$cache/build.lock"
  if ! flock -n 9; then
    say "another build holds $cache/build.lock; waiting (up to 1 h)"
    flock -w 3600 9 || die "timed out waiting for $cache/build.lock"
  fi
  local start=$SECONDS
  for c in "${components[@]}"; do build_one "$c"; done
  say "done in $((SECONDS - start))s; binaries in $bin_root/current (export VIREO_K8S_BIN=$bin_root/current)"
}

# On one line so bash has read the whole script before it runs: editing it during a build is harmless.
main "$@"; exit $?
