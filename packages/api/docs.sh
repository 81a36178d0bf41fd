#!/usr/bin/env bash
# API reference of @vireo/api with TypeDoc, from the TSDoc comments: dist/sdk-docs/index.html.
# Fails when an exported symbol has no doc comment (--validation.notDocumented, warnings are errors).
# TypeDoc is installed once into ${VIREO_CACHE:-$HOME/.cache/vireo}/node/typedoc-<version> (npm, the
# machine's registry configuration), not into the repository.
# Usage: packages/api/docs.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=0.28.20
prefix=${VIREO_CACHE:-$HOME/.cache/vireo}/node/typedoc-$version
out=${1:-$root/dist/sdk-docs}
if [[ ! -x $prefix/node_modules/.bin/typedoc ]]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save "typedoc@$version" >/dev/null
fi
cd "$root"
"$prefix/node_modules/.bin/typedoc" --tsconfig packages/api/tsconfig.json --entryPoints packages/api/index.ts \
  --name @vireo/api --readme packages/api/README.md --out "$out" \
  --disableSources --validation.notDocumented --treatWarningsAsErrors --logLevel Warn
echo "$out/index.html"
