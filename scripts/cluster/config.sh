#!/usr/bin/env bash
# shellcheck disable=SC2154 # the settings come from lib.sh, sourced first by up.sh
# Configuration files of the local cluster's node components (sourced by up.sh). Each function prints
# one file; docs/cluster.md says why each non-default setting is there.

pause_image=localhost/vireo-pause:1

# containerd 1.6 (Debian 12) with its own root, state and socket, so it never meets another containerd.
write_containerd_config() {
  cat <<EOF
version = 2
root = "$data_dir/containerd"
state = "$run_dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$containerd_sock"

[ttrpc]
  address = "$run_dir/containerd/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$data_dir/containerd-opt"

[plugins."io.containerd.grpc.v1.cri"]
  # Built locally and imported (scripts/images/build.sh pause); there is no registry to pull from.
  sandbox_image = "$pause_image"
  # root here lacks CAP_SYS_RESOURCE (CapEff has bit 24 clear), so runc cannot lower oom_score_adj below
  # containerd's own (the kubelet asks -998 for sandboxes, -997 for Guaranteed pods): runc's init then dies
  # with "can't get final child's PID from pipe: EOF". Clamp the adjustment instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        # runc's state under our run directory rather than /run/containerd/runc.
        Root = "$run_dir/runc"
        # No systemd here (PID 1 is not systemd): cgroupfs, the same driver the kubelet uses.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cni_conf_dir"
    max_conf_num = 1
EOF
}

# The pod network: one bridge, host-local addresses, a default route to the host and NO ipMasq: pods and
# guests are reachable from this machine at their own addresses and never NATed to its uplink.
# isGateway stays false: with it the bridge plugin turns on the host's net.ipv4.ip_forward, which must stay
# as found. It is not needed: up.sh gives the bridge the node address itself, and host-local's range
# gateway is the pods' default route.
write_cni_config() {
  cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_net_name",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$data_dir/cni/ipam",
        "ranges": [[{ "subnet": "$pod_cidr", "gateway": "$node_ip", "rangeStart": "$pod_range_start", "rangeEnd": "$pod_range_end" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
EOF
}

write_kubelet_config() {
  cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki_dir/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $pki_dir/kubelet-serving.crt
tlsPrivateKeyFile: $pki_dir/kubelet-serving.key
containerRuntimeEndpoint: unix://$containerd_sock
imageServiceEndpoint: unix://$containerd_sock
# This host mounts cgroup v1 controllers plus an empty v2 hierarchy ("hybrid"): since 1.35 the kubelet refuses
# cgroup v1 unless told otherwise. PID 1 is not systemd, so cgroupfs (also the default; containerd 1.6 cannot
# tell the kubelet its driver, so the kubelet uses this setting). No swap here; QoS cgroups and
# enforceNodeAllocatable=[pods] stay at their defaults.
cgroupDriver: cgroupfs
failCgroupV1: false
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
maxPods: 32
# The images cannot be pulled again (no registry): never garbage-collect them. And a shared development
# disk is not a reason to evict VMs: only evict when truly out of space or memory.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
containerLogMaxSize: 10Mi
# Without kube-proxy nothing needs the kubelet's iptables chains (KUBE-FIREWALL, canaries); down.sh removes
# whatever it still creates.
makeIPTablesUtilChains: false
rotateCertificates: false
serverTLSBootstrap: false
EOF
}
