#!/usr/bin/env bash
# Shared helpers of scripts/images/*.sh: logging, the cache directory, podman with this machine's settings
# and the Debian mirror apt is configured with. Sourced, not run.

# shellcheck disable=SC2034 # used by the scripts that source this file
images_cache=${VIREO_CACHE:-${HOME:?HOME is not set}/.cache/vireo}/images

say() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# podman with the settings these machines need (DESIGN.md, ground truth): crun fails on the hybrid cgroup
# layout, so runc; and the default nofile/nproc limits are higher than what the container may set, so lower
# ones. Niced: builds share two cores with test runs.
vpodman() {
  nice -n 10 podman "$@"
}

# Flags for `podman build` and `podman run`.
# shellcheck disable=SC2034
podman_run_flags=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# image_exists NAME: true when podman holds the image.
image_exists() { podman image exists "$1"; }

# apt_mirror SUITE prints the first URI that the host's apt sources (one-line or deb822) configure for
# SUITE with component main (e.g. the "URIs:" value of the Debian stanza for bookworm).
apt_mirror() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    if [[ $f == *.sources ]]; then
      # deb822: blank-line separated stanzas of "Key: value" fields.
      awk -v s="$suite" '
        function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && comps ~ /(^| )main( |$)/ && uri != "") { print uri; found = 1; exit } types = uri = suites = comps = "" }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        tolower($1) == "types:" { $1 = ""; types = $0 }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { $1 = ""; suites = $0 }
        tolower($1) == "components:" { $1 = ""; comps = $0 }
        END { if (!found) flush() }' "$f"
    else
      awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } } }' "$f"
    fi
  done | head -n 1
}
