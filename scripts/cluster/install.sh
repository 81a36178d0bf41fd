#!/usr/bin/env bash
# Installs (or upgrades) the Vireo chart on the local cluster with scripts/cluster/values-local.yaml and
# waits for the operator and the device plugin.
#
# Usage: scripts/cluster/install.sh [extra helm args...]
#
# On a node without /dev/vhost-net (this machine's kernel has no vhost_net) the device plugin is told to
# advertise kvm and tun only, and — until the operator stops asking for vhost-net when it cannot be used
# (see docs/cluster.md) — the node is given devices.vireo.dev/vhost-net capacity by hand, so launcher pods
# can be scheduled; they then get no /dev/vhost-net and the launcher falls back to userspace virtio-net.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

[[ -f $admin_kubeconfig ]] || die "no cluster ($admin_kubeconfig missing); run scripts/cluster/up.sh"
# The device plugin's own device nodes live in the cluster's data dir, so down.sh removes them with it.
args=(-f "$here/values-local.yaml" --set "devicePlugin.nodeDir=$data_dir/device-nodes")
if [[ ! -e /dev/vhost-net ]]; then args+=(--set 'devicePlugin.devices={kvm,tun}'); fi

say "helm upgrade --install vireo charts/vireo -n vireo-system ${args[*]} $*"
"$k8s_bin/helm" --kubeconfig "$admin_kubeconfig" upgrade --install vireo "$repo_root/charts/vireo" \
  -n vireo-system --create-namespace "${args[@]}" "$@" --wait --timeout 5m >/dev/null
kubectl_admin -n vireo-system rollout status deployment/vireo-operator --timeout=180s >&2
kubectl_admin -n vireo-system rollout status daemonset/vireo-device-plugin --timeout=180s >&2

if [[ ! -e /dev/vhost-net ]]; then
  say "no /dev/vhost-net here: advertising devices.vireo.dev/vhost-net on $node_name by hand (no device behind it)"
  kubectl_admin patch node "$node_name" --subresource=status --type=json \
    -p '[{"op":"add","path":"/status/capacity/devices.vireo.dev~1vhost-net","value":"110"}]' >/dev/null
fi
wait_until 60 "devices.vireo.dev/tun allocatable on $node_name" bash -c \
  "'$k8s_bin/kubectl' --kubeconfig '$admin_kubeconfig' get node '$node_name' -o jsonpath='{.status.allocatable.devices\\.vireo\\.dev/tun}' | grep -qx '[1-9][0-9]*'"
say "vireo installed: $(kubectl_admin -n vireo-system get pods --no-headers | awk '{print $1" "$3}' | tr '\n' ' ')"
