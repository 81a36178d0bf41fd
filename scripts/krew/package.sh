#!/usr/bin/env bash
# Builds the krew archive of the CLI and its manifest (what a release uploads and submits to krew-index):
#
#   OUT_DIR/kubectl-vireo-<version>.tar.gz   kubectl-vireo (a sh launcher), vireo/ (package.json, bin/, the
#                                            compiled runtime code, production node_modules), LICENSE
#   OUT_DIR/vireo.yaml                       the krew Plugin manifest for it (sha256 of that archive)
#
# The plugin needs Node.js >= 20.9 on the user's PATH (the manifest's caveats say so). npm installs the
# production dependencies from its cache or the machine's own registry configuration.
# Usage: scripts/krew/package.sh OUT_DIR [--uri URL]   (URL: where the release will serve the archive)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: scripts/krew/package.sh OUT_DIR [--uri URL]}")
shift
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
archive=$out/kubectl-vireo-$version.tar.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app=$stage/vireo
mkdir -p "$app" "$out"
cp "$root/package.json" "$root/package-lock.json" "$app/"
cp -r "$root/bin" "$app/bin"
# The runtime code only, as the images compile it (images/tsconfig.image.json); bin/entry.js runs dist/
# when no TypeScript source is beside it.
"$root/node_modules/.bin/tsc" -p "$root/images/tsconfig.image.json" --outDir "$app/dist"
(cd "$app" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --ignore-scripts >/dev/null)
# krew unpacks regular files and directories only (no symlinks): drop npm's .bin links, which nothing at
# run time uses, and refuse any other link.
find "$app/node_modules" -type d -name .bin -prune -exec rm -rf {} +
links=$(find "$stage" -type l)
[[ -z $links ]] || { echo "krew archives cannot hold symlinks: $links" >&2; exit 1; }
cat >"$stage/kubectl-vireo" <<'SH'
#!/bin/sh
# kubectl vireo: the Vireo CLI, installed by krew. Needs Node.js >= 20.9 on PATH.
here=$(dirname "$(readlink -f "$0")")
command -v node >/dev/null 2>&1 || { echo "kubectl-vireo: needs Node.js >= 20.9 on PATH" >&2; exit 1; }
exec node "$here/vireo/bin/vireo.js" "$@"
SH
chmod 755 "$stage/kubectl-vireo"
cat >"$stage/LICENSE" <<'TXT'
Vireo is licensed under the Apache License, Version 2.0 (package.json "license": "Apache-2.0").
The bundled node_modules carry their own licenses in their directories.
TXT
# Reproducible archive: fixed owner, order and times, no gzip timestamp.
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - . | gzip -n >"$archive"
(cd "$root" && node_modules/.bin/tsx scripts/krew/manifest.ts --archive "$archive" "$@") >"$out/vireo.yaml"
echo "$archive"
echo "$out/vireo.yaml"
