#!/usr/bin/env bash
# Brings up a single-node Kubernetes on this machine: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and a kubelet (all built from the Go module proxy by scripts/k8s/build.sh, one release),
# containerd + runc + the CNI bridge plugin from Debian, and the Vireo images (plus a local pause image)
# imported into containerd: no registry anywhere. scripts/cluster/down.sh removes all of it.
#
# Usage: scripts/cluster/up.sh        (as root; prints KUBECONFIG and where each log is)
#
# Environment: VIREO_CLUSTER_DIR (data, default /var/lib/vireo-cluster), VIREO_CLUSTER_LOG_DIR (logs, default
# /var/log/vireo-cluster), VIREO_K8S_BIN, VIREO_CLUSTER_SKIP_IMAGES=1 (do not build/import the Vireo images).
# docs/cluster.md lists what the kubelet needs on this host and why.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=pki.sh
source "$here/pki.sh"
# shellcheck source=config.sh
source "$here/config.sh"

k8s_components=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl helm)

preflight() {
  [[ $(id -u) == 0 ]] || die "run as root (the kubelet, containerd and the pod network need it)"
  local c missing=()
  for c in "${k8s_components[@]}"; do [[ -x $k8s_bin/$c ]] || missing+=("$c"); done
  if ((${#missing[@]})); then
    say "building ${missing[*]} (scripts/k8s/build.sh; minutes on a cold Go cache)"
    bash "$repo_root/scripts/k8s/build.sh" "${missing[@]}" || die "scripts/k8s/build.sh ${missing[*]} failed"
  fi
  for c in containerd ctr runc; do
    command -v "$c" >/dev/null || die "$c is missing (apt-get install -y containerd runc)"
  done
  for c in bridge host-local loopback; do
    [[ -x /usr/lib/cni/$c ]] || die "CNI plugin $c is missing (apt-get install -y containernetworking-plugins)"
  done
  for c in openssl ip nft setsid; do command -v "$c" >/dev/null || die "$c is missing"; done
  local n
  for n in etcd kube-apiserver containerd kubelet kube-controller-manager kube-scheduler; do
    if pid_alive "$n" >/dev/null; then die "$n already runs (pid $(pid_alive "$n")); run scripts/cluster/down.sh first"; fi
  done
  if ip link show "$bridge" >/dev/null 2>&1; then die "$bridge exists already; run scripts/cluster/down.sh first"; fi
  # The pod network must not overlap anything this machine routes already.
  if ip -4 route show | awk '{print $1}' | grep -qE '^10\.244\.'; then
    die "a route into 10.244.0.0/16 exists already ($(ip -4 route show | grep -E '^10\.244\.' | head -1)); the pod network would clash"
  fi
}

setup_network() {
  # The bridge exists before the API server starts because its address is the node's; the CNI bridge plugin
  # adopts it (same name, same gateway address) for the pods' veths.
  # The host's IPv4 forwarding as found: nothing of ours may change it (down.sh puts it back if something
  # did, and the end-to-end suite checks it while pods run).
  cat /proc/sys/net/ipv4/ip_forward >"$data_dir/host-ip-forward"
  ip link add "$bridge" type bridge
  ip addr add "$node_ip/24" dev "$bridge"
  ip link set "$bridge" up
  # Belt and braces for "pods never reach the uplink": even if IP forwarding gets turned on by someone,
  # nothing is forwarded between the pod bridge and any other interface. Bridged pod-to-pod traffic
  # (in and out on the bridge) is unaffected.
  nft -f - <<EOF
table inet $nft_table {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$bridge" oifname != "$bridge" counter drop
    oifname "$bridge" iifname != "$bridge" counter drop
  }
}
EOF
  say "network: $bridge $node_ip/24 (node + API server address), pods $pod_cidr, no NAT, nft table inet $nft_table"
}

start_etcd() {
  start_component etcd "$k8s_bin/etcd" --name=vireo-node --data-dir="$data_dir/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_client_port" --advertise-client-urls="http://127.0.0.1:$etcd_client_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster="vireo-node=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls=http://127.0.0.1:12381 \
    --unsafe-no-fsync
  wait_until 120 "etcd healthy" bash -c "curl -fsS http://127.0.0.1:$etcd_client_port/health | grep -q '\"health\":\"true\"'"
}

start_apiserver() {
  start_component kube-apiserver "$k8s_bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_client_port" \
    --bind-address="$node_ip" --advertise-address="$node_ip" --secure-port="$apiserver_port" \
    --tls-cert-file="$pki_dir/apiserver.crt" --tls-private-key-file="$pki_dir/apiserver.key" \
    --client-ca-file="$pki_dir/ca.crt" \
    --kubelet-client-certificate="$pki_dir/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki_dir/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki_dir/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki_dir/sa.pub" --service-account-signing-key-file="$pki_dir/sa.key" \
    --service-cluster-ip-range="$service_cidr" --allow-privileged=true --profiling=false \
    --cert-dir="$data_dir/apiserver-certs"
  wait_until 180 "kube-apiserver ready" kubectl_admin get --raw /readyz
  wait_until 60 "namespace default" kubectl_admin get namespace default
}

start_containerd() {
  mkdir -p "$run_dir/containerd" "$data_dir/containerd" "$cni_conf_dir" "$data_dir/cni/ipam"
  write_containerd_config >"$data_dir/containerd.toml"
  write_cni_config >"$cni_conf_dir/10-$cni_net_name.conflist"
  start_component containerd "$(command -v containerd)" --config "$data_dir/containerd.toml"
  wait_until 60 "containerd answers" ctr --address "$containerd_sock" version
}

import_images() {
  local archive=$data_dir/images.tar
  if [[ ${VIREO_CLUSTER_SKIP_IMAGES:-} == 1 ]]; then
    bash "$repo_root/scripts/images/build.sh" pause >/dev/null || die "building the pause image failed"
    bash "$repo_root/scripts/images/build.sh" --save "$archive" "$pause_image" 2>>"$log_dir/images.log"
  else
    # podman's layer cache makes this quick when the sources did not change.
    bash "$repo_root/scripts/images/build.sh" operator launcher test-guest pause >/dev/null ||
      die "scripts/images/build.sh failed"
    bash "$repo_root/scripts/images/build.sh" --save "$archive" 2>>"$log_dir/images.log"
  fi
  say "importing the images into containerd (namespace k8s.io)"
  nice -n 10 ctr --address "$containerd_sock" -n k8s.io images import "$archive" >>"$log_dir/images.log" 2>&1 ||
    die "ctr images import failed (log: $log_dir/images.log)"
  rm -f "$archive"
  ctr --address "$containerd_sock" -n k8s.io images ls -q | grep -v '^sha256:' | sed 's/^/[cluster] image: /' >&2
}

start_kubelet() {
  mkdir -p "$kubelet_dir"
  write_kubeconfig "$data_dir/kubelet.kubeconfig" "system:node:$node_name" kubelet-client
  write_kubelet_config >"$data_dir/kubelet.yaml"
  start_component kubelet "$k8s_bin/kubelet" --config="$data_dir/kubelet.yaml" \
    --kubeconfig="$data_dir/kubelet.kubeconfig" --hostname-override="$node_name" --node-ip="$node_ip" \
    --root-dir="$kubelet_dir" --v="${VIREO_KUBELET_VERBOSITY:-2}"
  wait_until 180 "node $node_name registered" kubectl_admin get node "$node_name"
}

start_controllers() {
  write_kubeconfig "$data_dir/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  write_kubeconfig "$data_dir/scheduler.kubeconfig" system:kube-scheduler scheduler
  start_component kube-controller-manager "$k8s_bin/kube-controller-manager" \
    --kubeconfig="$data_dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$data_dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$data_dir/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false --cluster-name=vireo-local \
    --service-account-private-key-file="$pki_dir/sa.key" --root-ca-file="$pki_dir/ca.crt" \
    --use-service-account-credentials=true --service-cluster-ip-range="$service_cidr" --profiling=false
  start_component kube-scheduler "$k8s_bin/kube-scheduler" --kubeconfig="$data_dir/scheduler.kubeconfig" \
    --authentication-kubeconfig="$data_dir/scheduler.kubeconfig" \
    --authorization-kubeconfig="$data_dir/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false
}

wait_node_ready() {
  wait_until 240 "node $node_name Ready" bash -c \
    "'$k8s_bin/kubectl' --kubeconfig '$admin_kubeconfig' get node '$node_name' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  # Pods need the default ServiceAccount (controller-manager) and kube-root-ca.crt for projected tokens.
  wait_until 120 "default ServiceAccount and kube-root-ca.crt" \
    kubectl_admin -n default get serviceaccount/default configmap/kube-root-ca.crt
}

summary() {
  local n
  cat >&2 <<EOF

Vireo local cluster is up ($((SECONDS - started))s). Node $node_name at $node_ip, pods on $pod_cidr ($bridge).
  export KUBECONFIG=$admin_kubeconfig
  $k8s_bin/kubectl get nodes -o wide
Logs:
EOF
  for n in etcd kube-apiserver containerd kubelet kube-controller-manager kube-scheduler; do
    printf '  %-24s %s  (pid %s)\n' "$n" "$log_dir/$n.log" "$(pid_alive "$n" || echo '?')" >&2
  done
  printf '  %-24s %s\n' images "$log_dir/images.log" >&2
  echo "Tear down: scripts/cluster/down.sh" >&2
  echo "KUBECONFIG=$admin_kubeconfig"
}

main() {
  started=$SECONDS
  preflight
  mkdir -p "$data_dir" "$run_dir/pids" "$log_dir"
  chmod 700 "$data_dir"
  # Fresh logs per run; down.sh keeps the last run's for reading.
  rm -f "$log_dir"/*.log
  # Anything failing from here on leaves a half-made cluster: take it down again, keeping the logs.
  trap 'say "up.sh failed; tearing down (logs stay in $log_dir)"; bash "$here/down.sh" >&2 || true' ERR
  set -E
  setup_network
  make_pki
  write_kubeconfig "$admin_kubeconfig" vireo-admin admin
  start_etcd
  start_apiserver
  start_containerd
  import_images
  start_kubelet
  start_controllers
  wait_node_ready
  trap - ERR
  summary
}

main "$@"
