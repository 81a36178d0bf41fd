#!/usr/bin/env bash
# One TypeScript entry point as one executable ES module for Node.js >= 20.9, with its npm dependencies
# inside (no node_modules beside it). esbuild comes with tsx (a dependency).
# Usage: scripts/bundle.sh ENTRY OUT [extra esbuild args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
entry=$1 out=$(realpath -m "$2")
shift 2
esbuild=$root/node_modules/.bin/esbuild
[[ -x $esbuild ]] || { echo "bundle: no $esbuild (npm ci installs it with tsx)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
# client-node and other dependencies are CommonJS: give the ES module bundle a require() for them.
"$esbuild" "$root/$entry" --bundle --platform=node --target=node20 --format=esm --minify \
  --legal-comments=none --log-level=warning --outfile="$out" "$@" \
  --banner:js="#!/usr/bin/env node
import { createRequire as __vireoRequire } from 'node:module'; const require = __vireoRequire(import.meta.url);"
chmod 755 "$out"
echo "$out"
