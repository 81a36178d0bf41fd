#!/usr/bin/env bash
# The vireo CLI as one file with no node_modules: esbuild bundles cli/main.ts (every command, loaded
# lazily as in a checkout) into OUT (default dist/vireo.mjs), an executable ES module for Node.js >= 20.9.
# esbuild comes with tsx (a dependency); the version is baked in, since no package.json travels with it.
# Usage: scripts/cli/bundle.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-$root/dist/vireo.mjs}")
esbuild=$root/node_modules/.bin/esbuild
[[ -x $esbuild ]] || { echo "bundle: no $esbuild (npm ci installs it with tsx)" >&2; exit 1; }
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
mkdir -p "$(dirname "$out")"
# client-node and its dependencies are CommonJS: give the ES module bundle a require() for them.
"$esbuild" "$root/cli/main.ts" --bundle --platform=node --target=node20 --format=esm --minify \
  --legal-comments=none --log-level=warning --outfile="$out" \
  --define:VIREO_BUNDLED_VERSION="\"$version\"" \
  --banner:js="#!/usr/bin/env node
import { createRequire as __vireoRequire } from 'node:module'; const require = __vireoRequire(import.meta.url);"
chmod 755 "$out"
echo "$out"
