#!/usr/bin/env bash
# Builds the krew archive of the CLI and its manifest (what a release uploads and submits to krew-index):
#
#   OUT_DIR/kubectl-vireo-<version>.tar.gz   kubectl-vireo (a sh launcher), vireo.mjs (the CLI bundled into
#                                            one file by scripts/cli/bundle.sh), LICENSE
#   OUT_DIR/vireo.yaml                       the krew Plugin manifest for it (sha256 of that archive)
#
# The plugin needs Node.js >= 20.9 on the user's PATH (the manifest's caveats say so).
# Usage: scripts/krew/package.sh OUT_DIR [--uri URL]   (URL: where the release will serve the archive)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: scripts/krew/package.sh OUT_DIR [--uri URL]}")
shift
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
archive=$out/kubectl-vireo-$version.tar.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out"
# The CLI as one file (scripts/cli/bundle.sh): no node_modules, nothing for krew to unpack but regular files.
bash "$root/scripts/cli/bundle.sh" "$stage/vireo.mjs" >/dev/null
cat >"$stage/kubectl-vireo" <<'SH'
#!/bin/sh
# kubectl vireo: the Vireo CLI, installed by krew. Needs Node.js >= 20.9 on PATH.
here=$(dirname "$(readlink -f "$0")")
command -v node >/dev/null 2>&1 || { echo "kubectl-vireo: needs Node.js >= 20.9 on PATH" >&2; exit 1; }
exec node "$here/vireo.mjs" "$@"
SH
chmod 755 "$stage/kubectl-vireo"
cat >"$stage/LICENSE" <<'TXT'
Vireo is licensed under the Apache License, Version 2.0 (package.json "license": "Apache-2.0").
vireo.mjs bundles its npm dependencies; each is under its own license (see their packages).
TXT
# Reproducible archive: fixed owner, order and times, no gzip timestamp.
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - . | gzip -n >"$archive"
(cd "$root" && node_modules/.bin/tsx scripts/krew/manifest.ts --archive "$archive" "$@") >"$out/vireo.yaml"
echo "$archive"
echo "$out/vireo.yaml"
