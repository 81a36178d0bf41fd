#!/usr/bin/env bash
# Builds a bootable Debian 12 cloud image the way distributions ship one: a qcow2 disk with a GPT
# partition table (BIOS boot, EFI system, ext4 root), GRUB for BIOS and signed shim + GRUB for UEFI
# (secure boot with Microsoft's keys), the cloud kernel, cloud-init (NoCloud), openssh-server and
# qemu-guest-agent. Only Debian packages, from the mirror the host's apt uses (see README.md).
#
#   scripts/guest-image/build.sh           build if needed, then print the image path
#   scripts/guest-image/build.sh --print   print the cached image's path only (exit 1 if none; no apt)
#   scripts/guest-image/build.sh --key     print the recipe key only (what the cache directory is named)
#   scripts/guest-image/build.sh --force   rebuild even when the cache holds this recipe
#
# Output (stdout, shell-sourceable): VIREO_DEBIAN_IMAGE=.../disk.qcow2
# Cache: ${VIREO_CACHE:-$HOME/.cache/vireo}/debian-image/<recipe-key>/{disk.qcow2,manifest.json} and the
# symlink debian-image/current; for `vireo run`, also ${VIREO_IMAGES:-$VIREO_CACHE/images}/vireo.dev/debian/12/.
# Needs root (loop devices, mount, chroot), debootstrap, sfdisk (fdisk), mkfs.vfat (dosfstools), mcopy
# (mtools), mkfs.ext4 (e2fsprogs), partx/losetup (util-linux), qemu-img (qemu-utils), jq.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# apt_mirror: the Debian mirror the host's apt is configured with (one parser for every image we build).
# shellcheck source=../images/lib.sh
source "$here/../images/lib.sh"
cache_root=${VIREO_CACHE:-${HOME:?HOME is not set}/.cache/vireo}
top=$cache_root/debian-image
suite=bookworm
keep_builds=2

# The image's shape. Fixed identifiers make the layout the same on every build, so a recipe key always
# names the same disk layout and boot configuration (grub.cfg and fstab name the UUIDs).
disk_size=2G
disk_guid=6b1d5f0e-7a43-4c55-9a3e-2f7c0d1e9a01
bios_part_uuid=6b1d5f0e-7a43-4c55-9a3e-2f7c0d1e9a0e
esp_part_uuid=6b1d5f0e-7a43-4c55-9a3e-2f7c0d1e9a0f
root_part_uuid=6b1d5f0e-7a43-4c55-9a3e-2f7c0d1e9a11
root_uuid=0b8a9f3c-5d2e-4e71-8c6a-1f4d3b2a7e90
esp_volid=5652454F # "VREO"; FAT volume ids read in upper case (/dev/disk/by-uuid/5652-454F)
# The packages that make it a cloud image (debootstrap's minbase brings the rest of the base system).
packages=(
	systemd-sysv udev dbus netbase ifupdown isc-dhcp-client iproute2 sudo
	linux-image-cloud-amd64 initramfs-tools e2fsprogs dosfstools
	grub-pc grub-efi-amd64-bin grub-efi-amd64-signed shim-signed
	cloud-init cloud-guest-utils fdisk openssh-server qemu-guest-agent locales
)
# The packages whose versions go into the recipe key (a Debian update of any of them rebuilds).
keyed=(linux-image-cloud-amd64 grub-pc grub-efi-amd64-signed shim-signed cloud-init openssh-server qemu-guest-agent systemd)

log() { printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	printf 'guest-image/build.sh: error: %s\n' "$*" >&2
	exit 1
}
print_path() { printf 'VIREO_DEBIAN_IMAGE=%s\n' "$1/disk.qcow2"; }

mode=build
case "${1:-}" in
"") ;;
--print) mode=print ;;
--key) mode=key ;;
--force) mode=force ;;
-h | --help)
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*) die "unknown argument: $1 (try --help)" ;;
esac

if [ "$mode" = print ]; then
	[ -f "$top/current/disk.qcow2" ] || die "no Debian image in $top; run scripts/guest-image/build.sh"
	print_path "$(readlink -f "$top/current")"
	exit 0
fi

# --- the recipe key ---------------------------------------------------------------------------
mirror=${VIREO_DEBIAN_MIRROR:-$(apt_mirror "$suite")}
[ -n "$mirror" ] || die "no apt source for $suite (component main) in /etc/apt/sources*; set VIREO_DEBIAN_MIRROR"
updates=$(apt_mirror "$suite-updates")
security=$(apt_mirror "$suite-security")
versions=$(apt-cache policy "${keyed[@]}" 2>/dev/null |
	awk '/^[^ ].*:$/ { pkg = substr($1, 1, length($1) - 1) } /^ +Candidate:/ { print pkg "=" $2 }')
if [ "$(grep -c -v '=(none)$' <<<"$versions")" -ne "${#keyed[@]}" ]; then
	[ "$(id -u)" = 0 ] || die "apt does not know all of ${keyed[*]}; run 'apt-get update' as root first"
	log "apt-get update (the package lists do not know ${keyed[*]})"
	apt-get update -qq >&2
	versions=$(apt-cache policy "${keyed[@]}" 2>/dev/null |
		awk '/^[^ ].*:$/ { pkg = substr($1, 1, length($1) - 1) } /^ +Candidate:/ { print pkg "=" $2 }')
fi
# Everything that decides what the image holds: this directory's files, the package versions and the
# mirror's suites (not its host: the same packages from another mirror are the same image).
key=$(
	{
		cd "$here" && find build.sh rootfs -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		printf '%s\n' "$suite" "${updates:+updates}" "${security:+security}" "${packages[@]}" "$versions"
	} | sha256sum | cut -c1-16
)
key="$suite-$key"
if [ "$mode" = key ]; then
	echo "$key"
	exit 0
fi
out=$top/$key

# `vireo run` resolves a containerDisk image name to $VIREO_IMAGES/<name>/<tag>/, whose disk/ holds the
# file: publish the current image there as vireo.dev/debian:12 (a hard link: no copy, and it outlives the
# pruning of old builds below).
standalone_dir=${VIREO_IMAGES:-$cache_root/images}/vireo.dev/debian/12/disk
link_current() {
	ln -sfn "$key" "$top/current.tmp.$$"
	mv -T "$top/current.tmp.$$" "$top/current"
	mkdir -p "$standalone_dir"
	# Already this very file (a cached run): mv would refuse two names of one file.
	[ "$top/$key/disk.qcow2" -ef "$standalone_dir/disk.qcow2" ] && return 0
	rm -f "$standalone_dir"/disk.qcow2.tmp.*
	ln -f "$top/$key/disk.qcow2" "$standalone_dir/disk.qcow2.tmp.$$" 2>/dev/null ||
		cp --reflink=auto "$top/$key/disk.qcow2" "$standalone_dir/disk.qcow2.tmp.$$"
	mv -f "$standalone_dir/disk.qcow2.tmp.$$" "$standalone_dir/disk.qcow2"
}
if [ "$mode" != force ] && [ -f "$out/disk.qcow2" ]; then
	log "debian image $key: cached"
	link_current
	print_path "$out"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "building the image needs root (loop devices, mount, chroot)"
# The build's mounts live in a mount namespace of their own: a process that copies the host's mount table
# meanwhile (unshare --mount, as the launcher tests do) would otherwise keep the image's filesystem alive
# after we unmount it, and its partition busy (seen: "partx: error deleting partition 1").
if [ -z "${VIREO_GUEST_IMAGE_NS:-}" ]; then
	exec unshare --mount --propagation private env VIREO_GUEST_IMAGE_NS=1 bash "${BASH_SOURCE[0]}" "$@"
fi
for tool in debootstrap sfdisk partx losetup mkfs.ext4 mkfs.vfat mcopy qemu-img jq flock; do
	command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh installs it)"
done
mkdir -p "$top/debs" "$top/archives"
# One build at a time on this host, whatever its cache: two at once had partx fail to add the partitions
# of both their loop devices.
exec 9>/tmp/vireo-debian-image-build.lock
flock -n 9 || { log "waiting for another build of the Debian image" && flock 9; }
if [ "$mode" != force ] && [ -f "$out/disk.qcow2" ]; then
	log "built meanwhile by another run"
	link_current
	print_path "$out"
	exit 0
fi

t0=$(date +%s)
work=$(mktemp -d "$top/.build.XXXXXX")
mnt=$work/mnt
raw=$work/disk.raw
loop=
cleanup() {
	# Deepest mount first, by exact path: a failed build must leave no mount, loop device or temp dir.
	if [ -d "$mnt" ]; then
		awk -v m="$mnt" '$2 == m || index($2, m "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
			while read -r p; do umount "$p" || umount -l "$p"; done
	fi
	if [ -n "$loop" ]; then
		partx -d "$loop" 2>/dev/null || true
		losetup -d "$loop" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
log "debian image $key: building in $work (mirror $mirror)"

# --- disk, partitions, filesystems ------------------------------------------------------------
# Debian's own cloud image layout: root is partition 1 and last on the disk (so it can grow), BIOS boot
# partition 14 for GRUB's core image, EFI system partition 15.
truncate -s "$disk_size" "$raw"
sfdisk -q "$raw" <<EOF
label: gpt
label-id: $disk_guid
unit: sectors
first-lba: 2048
${raw}14 : start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649, uuid=$bios_part_uuid, name="BIOS boot"
${raw}15 : start=8192, size=253952, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_part_uuid, name="EFI System"
${raw}1 : start=262144, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_part_uuid, name="root"
EOF
loop=$(losetup --find --show "$raw")
# The kernel does not scan loop devices for partitions here (losetup -P adds none); partx does.
partx -a "$loop"
[ -b "${loop}p1" ] && [ -b "${loop}p15" ] || die "no partition devices for $loop"
mkfs.vfat -F 32 -n EFI -i "$esp_volid" "${loop}p15" >/dev/null
mkfs.ext4 -q -F -L root -U "$root_uuid" -E "hash_seed=$root_uuid" "${loop}p1"
mkdir -p "$mnt"
mount "${loop}p1" "$mnt"
mkdir -p "$mnt/boot/efi"

# --- Debian ------------------------------------------------------------------------------------
log "debootstrap $suite (minbase)"
nice -n 10 debootstrap --variant=minbase --cache-dir="$top/debs" "$suite" "$mnt" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	{ tail -20 "$work/debootstrap.log" >&2 && die "debootstrap failed"; }
{
	echo "deb $mirror $suite main"
	[ -z "$updates" ] || echo "deb $updates $suite-updates main"
	[ -z "$security" ] || echo "deb $security $suite-security main"
} >"$mnt/etc/apt/sources.list"
cp -r "$here/rootfs/." "$mnt/"
sed -i -e "s/@ROOT_UUID@/$root_uuid/" -e "s/@ESP_UUID@/${esp_volid:0:4}-${esp_volid:4:4}/" "$mnt/etc/fstab"
# No services start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 0755 "$mnt/usr/sbin/policy-rc.d"
mount -t proc proc "$mnt/proc"
mount -t sysfs sysfs "$mnt/sys"
# A private /dev with only what the build needs: the basic nodes, the image's own loop device and its
# partitions, and the by-uuid link udev would make (update-grub writes root=UUID= only when it exists).
mount -t tmpfs -o mode=0755,size=1m vireo-build-dev "$mnt/dev"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$loop" "${loop}p1" "${loop}p14" "${loop}p15" "$mnt/dev/"
mkdir -p "$mnt/dev/disk/by-uuid" "$mnt/dev/pts"
ln -s "../../$(basename "$loop")p1" "$mnt/dev/disk/by-uuid/$root_uuid"
# Downloaded packages outlive the build, so a rebuild (a recipe change) fetches only what changed.
mount --bind "$top/archives" "$mnt/var/cache/apt/archives"
in_root() { LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$mnt" "$@"; }
# grub-pc asks where to install itself; the build installs it below, on the image's own disk.
# cloud-init's locale module sets en_US.UTF-8 (its default) with update-locale, which fails for a locale
# that was never generated.
in_root debconf-set-selections <<'EOF'
grub-pc grub-pc/install_devices multiselect
grub-pc grub-pc/install_devices_empty boolean true
locales locales/locales_to_be_generated multiselect en_US.UTF-8 UTF-8
locales locales/default_environment_locale select None
EOF
log "apt-get install ${packages[*]}"
in_root apt-get update -q >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2 && die "apt-get update failed"; }
nice -n 10 chroot "$mnt" env LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$work/apt.log" 2>&1 ||
	{ tail -30 "$work/apt.log" >&2 && die "apt-get install failed (log above)"; }

# --- boot loaders ------------------------------------------------------------------------------
log "grub-install (i386-pc on the disk, x86_64-efi signed on the ESP) and update-grub"
in_root grub-install --target=i386-pc "$loop" >>"$work/grub.log" 2>&1 ||
	{ cat "$work/grub.log" >&2 && die "grub-install i386-pc failed"; }
# UEFI: what `grub-install --uefi-secure-boot --force-extra-removable` puts on the ESP, copied with mtools.
# grub-install itself cannot be used here: it finds the ESP through a mounted FAT filesystem, and this
# build host's kernel has no vfat driver (only the guest's does). shim (signed with Microsoft's UEFI CA)
# loads Debian's signed GRUB, whose built-in prefix is /EFI/debian, so EFI/debian/grub.cfg leads it to the
# root filesystem; EFI/BOOT/BOOTX64.EFI is the removable path a fresh variable store boots from.
esp_tree=$work/esp
mkdir -p "$esp_tree/EFI/debian" "$esp_tree/EFI/BOOT"
cp "$mnt/usr/lib/shim/shimx64.efi.signed" "$esp_tree/EFI/debian/shimx64.efi"
cp "$mnt/usr/lib/shim/mmx64.efi.signed" "$esp_tree/EFI/debian/mmx64.efi"
cp "$mnt/usr/lib/shim/fbx64.efi.signed" "$esp_tree/EFI/debian/fbx64.efi"
cp "$mnt/usr/lib/shim/BOOTX64.CSV" "$esp_tree/EFI/debian/BOOTX64.CSV"
cp "$mnt/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$esp_tree/EFI/debian/grubx64.efi"
cp "$esp_tree/EFI/debian/shimx64.efi" "$esp_tree/EFI/BOOT/BOOTX64.EFI"
cp "$esp_tree/EFI/debian/grubx64.efi" "$esp_tree/EFI/BOOT/grubx64.efi"
cp "$esp_tree/EFI/debian/mmx64.efi" "$esp_tree/EFI/BOOT/mmx64.efi"
printf 'search.fs_uuid %s root\nset prefix=($root)'"'"'/boot/grub'"'"'\nconfigfile $prefix/grub.cfg\n' "$root_uuid" \
	>"$esp_tree/EFI/debian/grub.cfg"
# Fixed timestamps on the FAT entries: the same files give the same partition.
find "$esp_tree" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-1686355200}" {} +
# (mtools says it "could not get geometry" of a partition device; that is no error.)
MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -Q -i "${loop}p15" "$esp_tree/EFI" ::/ 2> >(grep -v "geometry" >&2)
in_root update-grub >>"$work/grub.log" 2>&1 || { cat "$work/grub.log" >&2 && die "update-grub failed"; }
grep -q "root=UUID=$root_uuid" "$mnt/boot/grub/grub.cfg" ||
	{ grep -n 'linux\s' "$mnt/boot/grub/grub.cfg" >&2 && die "grub.cfg does not boot root=UUID=$root_uuid"; }

# --- first-boot state out, build leftovers out -------------------------------------------------
# Timers that only compete with the guest's work under emulation.
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
in_root dpkg-query -W -f '${Package}\t${Version}\n' >"$work/packages.tsv"
in_root apt-get clean
rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt"/etc/ssh/ssh_host_* "$mnt/var/lib/dbus/machine-id" "$mnt/etc/hostname"
: >"$mnt/etc/machine-id" # systemd makes one at first boot; cloud-init makes the SSH host keys
rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/tmp/* "$mnt"/var/tmp/* "$mnt"/var/lib/cloud/* "$mnt"/root/.bash_history
find "$mnt/var/log" -type f -exec truncate -s 0 {} +
efi_files=$(cd "$esp_tree" && find . -type f | LC_ALL=C sort | sed 's|^\./|/|' | tr '\n' ' ')
kernel=$(basename "$(readlink -f "$mnt/vmlinuz")")
# Free blocks read as zeros: qemu-img convert skips them, and the compressed image holds only data.
fstrim "$mnt" 2>/dev/null || true
awk -v m="$mnt" '$2 == m || index($2, m "/") == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r -n1 umount
partx -d "$loop" || { sleep 2 && partx -d "$loop"; } || log "partx -d $loop failed; detaching the loop device drops its partitions"
losetup -d "$loop"
loop=

# --- qcow2 -------------------------------------------------------------------------------------
log "qemu-img convert -c -O qcow2"
mkdir -p "$work/out"
qemu-img convert -q -c -f raw -O qcow2 -o compat=1.1 "$raw" "$work/out/disk.qcow2"
qemu-img check -q "$work/out/disk.qcow2"
bytes=$(stat -c %s "$work/out/disk.qcow2")
virtual=$(qemu-img info --output=json "$work/out/disk.qcow2" | jq '.["virtual-size"]')
sha=$(sha256sum "$work/out/disk.qcow2" | cut -d' ' -f1)
secs=$(($(date +%s) - t0))
jq -n --arg key "$key" --arg suite "$suite" --arg kernel "$kernel" --arg sha "$sha" --argjson bytes "$bytes" \
	--argjson secs "$secs" --argjson virtual "$virtual" --arg root "$root_uuid" --arg esp "${esp_volid:0:4}-${esp_volid:4:4}" \
	--arg disk "$disk_guid" --arg efi "$efi_files" --rawfile pk "$work/packages.tsv" '{
	key: $key, suite: $suite, format: "qcow2", virtualSizeBytes: $virtual,
	fileBytes: $bytes, sha256: $sha, buildSeconds: $secs, kernel: $kernel,
	partitionTable: { label: "gpt", diskGuid: $disk },
	partitions: [
		{ number: 14, name: "BIOS boot", startSector: 2048, sizeBytes: 3145728 },
		{ number: 15, name: "EFI System", startSector: 8192, sizeBytes: 130023424, fs: "vfat", uuid: $esp },
		{ number: 1, name: "root", startSector: 262144, fs: "ext4", label: "root", uuid: $root }
	],
	efiFiles: ($efi | split(" ") | map(select(. != ""))),
	defaultUser: "debian",
	packages: ($pk | split("\n") | map(select(. != "") | split("\t") | { (.[0]): .[1] }) | add)
}' >"$work/out/manifest.json"
rm -rf "$out"
mv "$work/out" "$out"
link_current
# Keep the newest builds only: each holds a few hundred MiB.
(cd "$top" && find . -mindepth 1 -maxdepth 1 -type d -name "$suite-*" -printf '%T@ %f\n' | sort -rn |
	tail -n +$((keep_builds + 1)) | cut -d' ' -f2 | xargs -r rm -rf)
log "debian image $key: $(numfmt --to=iec "$bytes") qcow2 (2 GiB virtual) in ${secs}s"
print_path "$out"
