#!/usr/bin/env bash
# Tears the local cluster (scripts/cluster/up.sh) down completely: pods first through the API (so the
# kubelet and CNI release their sandboxes, addresses and mounts), then every component by the pid up.sh
# recorded, then whatever a crash may have left: containers, shims, network namespaces, veths, the bridge,
# the nftables table, mounts under /var/lib/kubelet and containerd's directories, kubepods cgroups, and the
# data directories. Logs are kept (their paths are printed) unless --purge-logs is given.
#
# Usage: scripts/cluster/down.sh [--purge-logs]
# Safe to run when nothing (or only part of the cluster) is up.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

purge_logs=0
[[ ${1:-} == --purge-logs ]] && purge_logs=1
[[ $(id -u) == 0 ]] || die "run as root"

# up.sh recorded the host's IPv4 forwarding before the pod network existed; if anything turned it on
# since, it goes back (the bridge plugin does so with isGateway, which config.sh leaves off for this reason).
restore_ip_forward() {
  local found now
  found=$(cat "$data_dir/host-ip-forward" 2>/dev/null) || return 0
  now=$(cat /proc/sys/net/ipv4/ip_forward)
  [[ $now == "$found" ]] && return 0
  echo "$found" >/proc/sys/net/ipv4/ip_forward
  say "WARNING: net.ipv4.ip_forward was $now, set back to $found (as up.sh found it)"
}

ctr_k8s() { ctr --address "$containerd_sock" -n k8s.io "$@"; }

# Deleting the pods while the kubelet still runs is the orderly path: it stops containers, calls CNI DEL
# and unmounts volumes. Controllers go first so nothing recreates them.
drain_pods() {
  pid_alive kube-apiserver >/dev/null && pid_alive kubelet >/dev/null || return 0
  stop_component kube-controller-manager
  stop_component kube-scheduler
  local left
  say "deleting all pods (the kubelet tears their sandboxes down)"
  timeout 60 "$k8s_bin/kubectl" --kubeconfig "$admin_kubeconfig" delete pods --all --all-namespaces \
    --grace-period=5 --wait=false >/dev/null 2>&1 || true
  # Only pods bound to the node need the kubelet; unscheduled ones hold nothing on this machine.
  for _ in $(seq 1 90); do
    left=$(timeout 10 "$k8s_bin/kubectl" --kubeconfig "$admin_kubeconfig" get pods -A --no-headers \
      --field-selector "spec.nodeName=$node_name" 2>/dev/null | wc -l)
    [[ $left == 0 ]] && break
    sleep 1
  done
  [[ ${left:-0} == 0 ]] || say "$left pods still on $node_name after 90 s; cleaning up by hand below"
  # A pod leaves the API once its containers stopped; the kubelet stops its sandbox (CNI DEL, netns) just
  # after. Wait for containerd to run no task before the kubelet goes.
  for _ in $(seq 1 60); do
    [[ -z $(ctr_k8s tasks ls -q 2>/dev/null) ]] && break
    sleep 1
  done
}

# Network namespaces of our pod sandboxes, from containerd's own records (the OCI spec of each sandbox).
sandbox_netns() {
  local id
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers info "$id" 2>/dev/null |
      jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // empty' 2>/dev/null
  done | sort -u
}

remove_containers() {
  pid_alive containerd >/dev/null || return 0
  local id
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
  sleep 1
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks delete -f "$id" >/dev/null 2>&1; done
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers delete "$id" >/dev/null 2>&1; done
}

# containerd-shim processes outlive containerd; ours are the ones started with our socket address.
stop_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $containerd_sock" || continue
    say "stopping containerd shim pid ${p#/proc/}"
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

unmount_under() {
  local root=$1 m
  # Deepest first; `findmnt -R` lists a tree, sort -r puts children before parents.
  findmnt -rn -o TARGET | grep -E "^$root(/|$)" | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "cannot unmount $m"
  done
}

remove_network() {
  local ns link
  for ns in "$@"; do
    [[ -n $ns && -e $ns ]] || continue # normally gone already: the kubelet stopped its sandbox
    umount "$ns" 2>/dev/null
    rm -f "$ns" && say "removed leftover network namespace $ns"
  done
  if ip link show "$bridge" >/dev/null 2>&1; then
    for link in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
      ip link del "$link" 2>/dev/null && say "removed $link (was on $bridge)"
    done
    ip link del "$bridge" && say "removed bridge $bridge"
  fi
  nft list table inet "$nft_table" >/dev/null 2>&1 && nft delete table inet "$nft_table" && say "removed nft table inet $nft_table"
  # libcni keeps results per network name in its default cache directory.
  rm -rf /var/lib/cni/results/"$cni_net_name"-* /var/lib/cni/networks/"$cni_net_name"
}

# The kubelet's iptables chains (iptables-nft): KUBE-FIREWALL (drops DNAT to 127/8 from outside) hooked into
# INPUT/OUTPUT, the KUBE-KUBELET-CANARY chains it watches, and the KUBE-IPTABLES-HINT chain. Removed rule by
# rule; a table is dropped afterwards only when nothing but empty built-in chains is left in it (it did not
# exist before the kubelet came; something else using it keeps it).
remove_kubelet_iptables() {
  local ipt table family
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    while "$ipt" -w -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while "$ipt" -w -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    "$ipt" -w -t filter -F KUBE-FIREWALL 2>/dev/null && "$ipt" -w -t filter -X KUBE-FIREWALL 2>/dev/null
    for table in mangle nat filter; do "$ipt" -w -t "$table" -X KUBE-KUBELET-CANARY 2>/dev/null; done
    "$ipt" -w -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null
  done
  for family in ip ip6; do
    for table in mangle nat filter; do
      nft list table "$family" "$table" >/dev/null 2>&1 || continue
      if nft -j list table "$family" "$table" |
        jq -e '[.nftables[] | select(.rule or (.chain and (.chain.hook | not)))] | length == 0' >/dev/null; then
        nft delete table "$family" "$table"
      fi
    done
  done
}

# Kubelet-made cgroups (cgroupfs driver): /kubepods in every v1 hierarchy, deepest first, once empty.
remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $d ]] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    [[ -d $d ]] && say "cgroup $d not empty (processes left?)"
  done
}

main() {
  local netns
  drain_pods
  stop_component kube-controller-manager
  stop_component kube-scheduler
  netns=$(sandbox_netns)
  stop_component kubelet 30
  remove_containers
  stop_component containerd
  stop_shims
  stop_component kube-apiserver
  stop_component etcd
  unmount_under "$kubelet_dir"
  unmount_under "$run_dir"
  unmount_under "$data_dir"
  # shellcheck disable=SC2086 # one path per line
  remove_network $netns
  remove_kubelet_iptables
  say "removed the kubelet's iptables chains"
  remove_cgroups
  restore_ip_forward
  rm -rf "$kubelet_dir" "$data_dir" "$run_dir"
  # containerd 1.6 also makes a few directories under its default state path, whatever the config says;
  # remove them when empty (they are shared with a system containerd, if one ever runs here).
  rmdir /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd \
    /var/lib/cni/results /var/lib/cni/networks /var/lib/cni 2>/dev/null
  say "removed $kubelet_dir $data_dir $run_dir"
  if ((purge_logs)); then
    rm -rf "$log_dir"
    say "removed the logs ($log_dir)"
  elif compgen -G "$log_dir/*.log" >/dev/null; then
    say "logs of the last run (kept; --purge-logs removes them):"
    printf "  %s\n" "$log_dir"/*.log >&2
  fi
}

main
