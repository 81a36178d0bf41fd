#!/usr/bin/env bash
# The quickstart: `npm run demo` runs examples/demo.yaml on this host with `vireo run`, installing
# whatever is missing first (npm dependencies, QEMU and friends from Debian, the test guest).
# Every step is a no-op when already done. Extra arguments go to `vireo run`, e.g.
#   npm run demo -- --exit-after-ready      (CI: boot, wait until the guest's web server answers at the
#                                            pod IP, power off, exit 0)
#   npm run demo -- --timeout 60
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  say "the demo needs root (it creates a network namespace and installs Debian packages): sudo npm run demo"
  exit 1
fi
[[ -d node_modules ]] || { say "npm ci"; npm ci --no-audit --no-fund; }
say "Debian packages"
bash scripts/install-deps.sh
say "test guest"
bash scripts/guest/build.sh >/dev/null

say "vireo run examples/demo.yaml $*"
exec node bin/vireo.js run examples/demo.yaml "$@"
