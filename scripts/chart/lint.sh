#!/usr/bin/env bash
# The chart's linters, as CI runs them (`npm run lint:chart`):
#   1. chart-testing: `ct lint` of charts/vireo and charts/vireo-crds (charts/ct.yaml) — Yamale on Chart.yaml,
#      yamllint on Chart.yaml, values.yaml and ci/*-values.yaml with ct's own rules, `helm lint --strict` per
#      ci/ case;
#   2. kube-score over `helm template` of every ci/ case, judged by charts/kube-score.yaml (scripts/chart/score.ts).
# Builds the tools when missing (scripts/chart/tools.sh, cached under ~/.cache/vireo) and needs helm from
# scripts/k8s/build.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/chart/tools.sh
eval "$(bash scripts/chart/tools.sh --print-env)"
eval "$(bash scripts/k8s/build.sh --print-env)"
[[ -x $VIREO_K8S_BIN/helm ]] || bash scripts/k8s/build.sh helm
export PATH=$VIREO_K8S_BIN:$PATH
# ct runs from the repository root with --charts, so it needs no git remote; Helm's caches go to a scratch dir.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HELM_CACHE_HOME=$scratch/cache HELM_CONFIG_HOME=$scratch/config HELM_DATA_HOME=$scratch/data
echo "== ct lint"
ct lint --config charts/ct.yaml --lint-conf "$CT_LINTCONF" --chart-yaml-schema "$CT_SCHEMA"
echo "== kube-score"
npx tsx scripts/chart/score.ts "$@"
