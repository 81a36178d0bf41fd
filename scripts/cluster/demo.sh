#!/usr/bin/env bash
# `npm run demo:cluster`: a VM on a real single-node Kubernetes on this machine.
#   cluster up (scripts/cluster/up.sh, skipped when it already runs) -> helm install the chart
#   (scripts/cluster/install.sh: emulation on, local images) -> kubectl apply -f examples/e2e-vm.yaml ->
#   wait for Ready -> print the guest's address and how to open its console.
# The cluster stays up afterwards; scripts/cluster/down.sh removes it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

vm=e2e-vm
started=$SECONDS
if pid_alive kube-apiserver >/dev/null && kubectl_admin get node "$node_name" >/dev/null 2>&1; then
  say "cluster already up"
else
  bash "$here/up.sh" >/dev/null
fi
bash "$here/install.sh"

# The local PersistentVolume's directory (spec.local.path in examples/e2e-vm.yaml), owned by the launcher's
# user (uid/gid 107); the launcher creates disk.img in it on first start.
pv_dir=$data_dir/volumes/e2e-vm-data
mkdir -p "$pv_dir" && chown 107:107 "$pv_dir"

applied=$SECONDS
kubectl_admin apply -f "$repo_root/examples/e2e-vm.yaml" >&2
say "waiting for VirtualMachine $vm to be Ready (TCG boot; a minute or two on a busy machine)"
if ! kubectl_admin wait "virtualmachine/$vm" --for=condition=Ready --timeout=600s >&2; then
  kubectl_admin get "virtualmachine/$vm" -o yaml >&2 || true
  kubectl_admin describe pod "vireo-launcher-$vm" >&2 || true
  die "$vm did not become Ready; logs: $log_dir/kubelet.log, kubectl logs vireo-launcher-$vm"
fi
ip=$(kubectl_admin get pod "vireo-launcher-$vm" -o jsonpath='{.status.podIP}')
say "$vm Ready $((SECONDS - applied))s after kubectl apply ($((SECONDS - started))s in all)"
say "the guest answers at http://$ip/: $(curl -fsS -m 10 "http://$ip/" || echo '(no answer)')"
cat >&2 <<EOF

VM $vm runs in pod vireo-launcher-$vm at $ip; the guest's port 80 is forwarded from there (masquerade).
  export KUBECONFIG=$admin_kubeconfig
  curl http://$ip/                  # the guest's web server (busybox httpd)
  curl http://$ip:9100/metrics      # the launcher's per-VM metrics
  node bin/vireo.js console $vm     # serial console, Ctrl-] detaches (kubectl vireo console $vm)
  node bin/vireo.js restart $vm | stop $vm | start $vm
  $k8s_bin/kubectl get virtualmachines,pods -o wide
Remove the VM: kubectl delete -f examples/e2e-vm.yaml   Remove the cluster: scripts/cluster/down.sh
EOF
