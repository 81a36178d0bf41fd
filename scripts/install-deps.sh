#!/usr/bin/env bash
# Installs the Debian packages Vireo's launcher, tests and demo need, skipping the apt round trip when all
# are present. Shared by `npm run demo` and .ci/run so the two cannot drift apart.
set -euo pipefail
PACKAGES=(
  qemu-system-x86 qemu-utils ovmf        # the hypervisor, qemu-img, UEFI firmware
  swtpm                                  # the guest's virtual TPM 2.0 (devices.tpm)
  nftables passt iproute2                # guest networking (DHCP is served in-process)
  xorriso                                # cloud-init NoCloud and config-volume ISOs (xorrisofs)
  busybox-static cpio                    # the test guest's userland and initramfs
  openssl                                # test control plane certificates
  prometheus                             # promtool and a real Prometheus for metrics tests
  iperf3                                 # npm run bench -- masquerade (throughput per binding)
  podman runc debootstrap catatonit file # container images without a registry
  containerd containernetworking-plugins # the end-to-end single-node cluster
  util-linux e2fsprogs psmisc procps jq  # losetup, mkfs, fuser, ps, jq for scripts and tests
  fdisk dosfstools mtools                # the Debian cloud image's GPT, ESP and its files (scripts/guest-image)
  openssh-client                         # tests reach the cloud image's sshd
  vncsnapshot libjpeg-turbo-progs        # a real VNC client grabs a guest's frame; djpeg decodes it
  curl xz-utils gzip                     # the DataVolume importer's download and decompression
  lua5.1                                 # the Argo CD health check's tests (gopher-lua speaks Lua 5.1)
  fish zsh                               # the shell completion tests (vireo completion fish|zsh)
  python3-venv                           # the venv scripts/chart/tools.sh puts yamllint and Yamale in
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing Debian packages: ${missing[*]} — run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
