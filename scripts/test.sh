#!/usr/bin/env bash
# The README's test command (`npm test`): unit tests, then integration tests against real components,
# then one closing line with the totals ("tests: N passed, N failed, N skipped").
# Usage: scripts/test.sh [unit|integration|e2e|all] [extra vitest args...]
# `all` ends with the end-to-end suite on a real single-node cluster (scripts/cluster/up.sh, minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"; shift || true
# On a fresh machine the test command brings what it needs; every step is a no-op when already done.
[[ -d node_modules ]] || npm ci --no-audit --no-fund
if [[ "$which" != unit && -z "${VIREO_SKIP_PREREQS:-}" ]]; then
  bash scripts/install-deps.sh || exit 1
  bash scripts/k8s/build.sh || exit 1
  bash scripts/kstatus/build.sh || exit 1
  bash scripts/chart/tools.sh || exit 1   # ct, kube-score, krew, yamllint (chart and krew tests)
  bash scripts/guest/build.sh || exit 1
  bash scripts/guest-image/build.sh || exit 1   # the Debian cloud image (real-image tests)
  if [[ "$which" == e2e || "$which" == all ]]; then
    bash scripts/k8s/build.sh kubelet kube-scheduler kube-controller-manager || exit 1
    bash scripts/images/base.sh || exit 1
  fi
fi
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
status=0
run() {
  local project="$1"; shift
  echo "== $project tests =="
  npx vitest run --project "$project" --reporter=default --reporter=json --outputFile.json="$out/$project.json" "$@" || status=1
}
e2e() {
  echo "== e2e tests (real single-node cluster) =="
  npx vitest run --config test/e2e/vitest.config.ts --reporter=default --reporter=json --outputFile.json="$out/e2e.json" "$@" || status=1
}
case "$which" in
  unit) run unit "$@" ;;
  integration) run integration "$@" ;;
  e2e) e2e "$@" ;;
  all) run unit "$@"; run integration "$@"; e2e "$@" ;;
  *) echo "usage: $0 [unit|integration|e2e|all]" >&2; exit 2 ;;
esac
node -e '
  const fs = require("fs"); let p = 0, f = 0, s = 0, files = 0;
  for (const name of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + name, "utf8"));
    p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + (r.numTodoTests || 0);
    files += r.numTotalTestSuites;
    for (const suite of r.testResults) if (suite.status === "failed" && !suite.assertionResults.some((a) => a.status === "failed")) f++;
  }
  console.log(`tests: ${p} passed, ${f} failed, ${s} skipped`);
  if (p + f === 0) { console.error("no test ran"); process.exitCode = 1; }
' "$out" || status=1
exit $status
