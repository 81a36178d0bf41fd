#!/usr/bin/env bash
# The launcher as one file (default dist/vireo-launcher.mjs), which the launcher image runs: Node then
# loads one module instead of resolving and compiling hundreds — the start path's largest share
# (docs/performance.md: first QMP answer p50 1370 → 757 ms under TCG at load 13).
# Usage: scripts/launcher/bundle.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$root/scripts/bundle.sh" launcher/main.ts "${1:-$root/dist/vireo-launcher.mjs}"
