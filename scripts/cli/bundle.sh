#!/usr/bin/env bash
# The vireo CLI as one file with no node_modules: esbuild bundles cli/main.ts (every command, loaded
# lazily as in a checkout) into OUT (default dist/vireo.mjs), an executable ES module for Node.js >= 20.9.
# The version is baked in, since no package.json travels with it.
# Usage: scripts/cli/bundle.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
exec bash "$root/scripts/bundle.sh" cli/main.ts "${1:-$root/dist/vireo.mjs}" \
  --define:VIREO_BUNDLED_VERSION="\"$version\""
