#!/usr/bin/env bash
# Builds the chart linters and caches them outside the repository, keyed by version:
#
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/ct-<version>/ct            chart-testing, from the Go module proxy
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/ct-<version>/etc/          ct's own lintconf.yaml, chart_schema.yaml
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/kube-score-<version>/kube-score   from the Go module proxy
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/venv/chart-lint-<versions>/bin/{yamllint,yamale}   from PyPI (pip)
#   ${VIREO_CACHE:-$HOME/.cache/vireo}/bin/krew-<version>/kubectl-krew   krew, to install the krew manifest in tests
#
# Each is made only when missing. Registries come from the machine's own go/pip configuration.
# It takes its own lock (not scripts/k8s/build.sh's), so CI runs it beside the Kubernetes build.
#
# Usage: scripts/chart/tools.sh [--print-env]
#   --print-env   print `export` lines (PATH with the tools, CT_LINTCONF, CT_SCHEMA) without building
# Environment: VIREO_CACHE (cache root), VIREO_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${VIREO_CACHE:-$HOME/.cache/vireo}
ct_dir=$cache/bin/ct-$CT_VERSION
score_dir=$cache/bin/kube-score-$KUBE_SCORE_VERSION
krew_dir=$cache/bin/krew-$KREW_VERSION
venv=$cache/venv/chart-lint-yamllint$YAMLLINT_VERSION-yamale$YAMALE_VERSION

say() { printf '[chart-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

print_env() {
  echo "export PATH=$ct_dir:$score_dir:$krew_dir:$venv/bin:\$PATH"
  echo "export CT_LINTCONF=$ct_dir/etc/lintconf.yaml"
  echo "export CT_SCHEMA=$ct_dir/etc/chart_schema.yaml"
}

go_build() {
  local flags
  flags="$(go env GOFLAGS) -p=${VIREO_BUILD_JOBS:-2}"
  CGO_ENABLED=0 GOFLAGS="${flags# }" nice -n 10 go "$@"
}

# go_tool <dir> <binary> <module@version> <package> [ldflags]: build package into dir, atomically. Not
# `go install pkg@version`: that asks the proxy for the module's version list (deprecation check), which
# this machine's proxy refuses for some modules (403). A wrapper module that requires the release and names
# the package as a `tool` resolves the same dependencies (neither module has replace directives).
go_tool() {
  local dir=$1 name=$2 modver=$3 pkg=$4 ldflags=${5:-} log wrap tmp start=$SECONDS
  [[ -x $dir/$name ]] && return 0
  mkdir -p "$dir" "$cache/logs" "$cache/src"
  log=$cache/logs/$name-${modver#*@}.log
  wrap=$cache/src/$name-wrapper-${modver#*@}
  say "$name ${modver#*@}: building (log: $log)"
  if [[ ! -f $wrap/go.sum ]]; then
    rm -rf "$wrap" && mkdir -p "$wrap"
    (cd "$wrap" && go mod init "vireo.local/$name-wrapper" && go mod edit -require="$modver" -tool="$pkg" &&
      go_build mod tidy) >>"$log" 2>&1 || {
      rm -rf "$wrap"
      tail -n 30 "$log" >&2
      die "resolving the modules of $modver failed; full log: $log"
    }
  fi
  tmp=$(mktemp "$dir/$name.tmp.XXXXXX")
  if ! (cd "$wrap" && go_build build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg") >>"$log" 2>&1; then
    rm -f "$tmp"
    tail -n 30 "$log" >&2
    die "building $name failed; full log: $log"
  fi
  chmod +x "$tmp" && mv -f "$tmp" "$dir/$name"
  say "$name ${modver#*@}: built in $((SECONDS - start))s"
}

build_ct() {
  local mod ldflags
  go_tool "$ct_dir" ct "github.com/helm/chart-testing/v3@$CT_VERSION" github.com/helm/chart-testing/v3/ct \
    "-X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION"
  if [[ ! -f $ct_dir/etc/chart_schema.yaml ]]; then
    # ct looks for these beside its config (the release image puts them in /etc/ct); take them from the
    # very module the binary was built from, so the rules are ct's own defaults.
    mod=$(go mod download -json "github.com/helm/chart-testing/v3@$CT_VERSION" | jq -r .Dir)
    [[ -f $mod/etc/lintconf.yaml ]] || die "no etc/lintconf.yaml in $mod"
    mkdir -p "$ct_dir/etc.tmp"
    cp "$mod/etc/lintconf.yaml" "$mod/etc/chart_schema.yaml" "$ct_dir/etc.tmp/"
    chmod 644 "$ct_dir/etc.tmp/"*
    rm -rf "$ct_dir/etc" && mv -T "$ct_dir/etc.tmp" "$ct_dir/etc"
  fi
}

build_kube_score() {
  go_tool "$score_dir" kube-score "github.com/zegl/kube-score@$KUBE_SCORE_VERSION" \
    github.com/zegl/kube-score/cmd/kube-score "-X main.version=$KUBE_SCORE_VERSION"
}

build_venv() {
  [[ -f $venv/.complete ]] && return 0
  local start=$SECONDS log=$cache/logs/chart-lint-venv.log
  command -v python3 >/dev/null || die "python3 is not on PATH"
  say "yamllint $YAMLLINT_VERSION, yamale $YAMALE_VERSION: installing into $venv (log: $log)"
  mkdir -p "$cache/venv" "$cache/logs"
  # A venv's scripts name its interpreter by absolute path, so it is made in place; .complete marks it whole.
  rm -rf "$venv"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --disable-pip-version-check \
    "yamllint==$YAMLLINT_VERSION" "yamale==$YAMALE_VERSION"; } >>"$log" 2>&1; then
    rm -rf "$venv"
    tail -n 20 "$log" >&2
    die "installing yamllint/yamale failed (Debian: apt-get install python3-venv); log: $log"
  fi
  touch "$venv/.complete"
  say "yamllint, yamale: installed in $((SECONDS - start))s"
}

build_krew() {
  go_tool "$krew_dir" krew "sigs.k8s.io/krew@$KREW_VERSION" sigs.k8s.io/krew/cmd/krew \
    "-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION"
  # kubectl finds plugins by name: kubectl-krew.
  ln -sfn krew "$krew_dir/kubectl-krew"
}

main() {
  if [[ ${1:-} == --print-env ]]; then
    print_env
    return 0
  fi
  command -v go >/dev/null || die "go is not on PATH"
  command -v jq >/dev/null || die "jq is not on PATH"
  mkdir -p "$cache/bin"
  exec 9>"$cache/chart-tools.lock"
  flock -w 3600 9 || die "timed out waiting for $cache/chart-tools.lock"
  local start=$SECONDS
  build_venv
  build_ct
  build_kube_score
  build_krew
  say "ready in $((SECONDS - start))s: $("$ct_dir/ct" version 2>/dev/null | head -1), kube-score $("$score_dir/kube-score" version 2>/dev/null | head -1), yamllint $("$venv/bin/yamllint" --version | cut -d' ' -f2)"
}

main "$@"; exit $?
