#!/usr/bin/env bash
# Shared settings and helpers of scripts/cluster/*.sh (sourced). docs/cluster.md explains the layout.
# shellcheck disable=SC2034 # settings are used by the scripts that source this file

cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$cluster_here/../.." && pwd)

# Where everything lives. The kubelet keeps the standard root (the device plugin's socket directory and
# the chart assume /var/lib/kubelet); everything else is ours alone, so down.sh can remove it whole.
data_dir=${VIREO_CLUSTER_DIR:-/var/lib/vireo-cluster}
run_dir=/run/vireo-cluster
log_dir=${VIREO_CLUSTER_LOG_DIR:-/var/log/vireo-cluster}
kubelet_dir=/var/lib/kubelet
pki_dir=$data_dir/pki
admin_kubeconfig=$data_dir/admin.kubeconfig
containerd_sock=$run_dir/containerd/containerd.sock
cni_conf_dir=$data_dir/cni/net.d
cni_net_name=vireo-pods
k8s_bin=${VIREO_K8S_BIN:-${VIREO_CACHE:-$HOME/.cache/vireo}/bin/current}

# Network. Pods live on a private /24 behind a bridge that exists only on this machine. The bridge's own
# address is also the node's address (kubelet --node-ip must not be loopback) and the API server's, so pods
# (the operator) can reach it; etcd, the controller-manager and the scheduler stay on 127.0.0.1. No NAT:
# pod traffic never leaves the machine (ip_forward stays as it is, and an nftables table drops anything
# forwarded between the bridge and another interface).
bridge=vireo-cni0
pod_cidr=10.244.0.0/24
node_ip=10.244.0.1
pod_range_start=10.244.0.10
pod_range_end=10.244.0.250
service_cidr=10.96.0.0/24
service_ip=10.96.0.1
nft_table=vireo_cluster
node_name=vireo-node
apiserver_port=6443
etcd_client_port=12379
etcd_peer_port=12380

say() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

kubectl_admin() { "$k8s_bin/kubectl" --kubeconfig "$admin_kubeconfig" "$@"; }

# pid_alive NAME prints the pid recorded for NAME when that process still runs the recorded binary (a pid
# reused by something else is not ours to signal).
pid_alive() {
  local f=$run_dir/pids/$1.pid pid exe
  [[ -f $f ]] || return 1
  read -r pid exe <"$f" || return 1
  [[ -n $pid && -d /proc/$pid ]] || return 1
  [[ $(readlink -f "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] || return 1
  echo "$pid"
}

# start_component NAME BINARY ARGS...: runs BINARY in its own session, niced, output to $log_dir/NAME.log,
# pid (and the binary it runs) in $run_dir/pids/NAME.pid.
start_component() {
  local name=$1 bin=$2
  shift 2
  local log=$log_dir/$name.log exe
  exe=$(readlink -f "$bin")
  [[ -x $exe ]] || die "$name: $bin is not an executable"
  if pid_alive "$name" >/dev/null; then die "$name already runs (pid $(pid_alive "$name")); run down.sh first"; fi
  printf '=== %s %s %s\n' "$(date -u +%FT%TZ)" "$bin" "$*" >>"$log"
  setsid nice -n "${VIREO_CLUSTER_NICE:-5}" "$exe" "$@" </dev/null >>"$log" 2>&1 &
  echo "$! $exe" >"$run_dir/pids/$name.pid"
  say "$name started (pid $!, log $log)"
}

# stop_component NAME [GRACE_SECONDS]: SIGTERM by pid, SIGKILL after the grace period.
stop_component() {
  local name=$1 grace=${2:-15} pid i
  if ! pid=$(pid_alive "$name"); then
    rm -f "$run_dir/pids/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    [[ -d /proc/$pid ]] || break
    sleep 0.2
  done
  if [[ -d /proc/$pid ]]; then
    say "$name (pid $pid) ignored SIGTERM for ${grace}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$run_dir/pids/$name.pid"
  say "$name stopped (pid $pid)"
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every second; dies with the description on timeout.
wait_until() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < limit)) || die "timed out after ${limit}s waiting for $what"
    sleep 1
  done
  say "$what after $((SECONDS - start))s"
}
