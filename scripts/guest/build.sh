#!/usr/bin/env bash
# Builds the Vireo test guest: Debian's cloud kernel plus an initramfs with busybox-static, the
# virtio modules and scripts/guest/rootfs (see scripts/guest/README.md).
#
#   scripts/guest/build.sh           build if needed, then print the artefact paths
#   scripts/guest/build.sh --print   print the paths of the cached artefacts only (exit 1 if none)
#   scripts/guest/build.sh --force   rebuild even when the cache holds this version
#
# Output (stdout, shell-sourceable):  VIREO_GUEST_KERNEL=...  VIREO_GUEST_INITRAMFS=...
# Cache: ${VIREO_CACHE:-$HOME/.cache/vireo}/guest/<version-key>/ and the symlink guest/current.
# Needs: apt-get, apt-cache, dpkg-deb, cpio, gzip, sha256sum, flock (Debian 12 base + cpio).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${VIREO_CACHE:-${HOME:?HOME is not set}/.cache/vireo}
# VIREO_GUEST_FLAVOUR=generic: Debian's generic kernel (linux-image-amd64), which has the drivers the cloud
# kernel leaves out (AHCI, e1000e, i6300esb); cached apart (guest-generic/) so both builds coexist.
case "${VIREO_GUEST_FLAVOUR:-cloud}" in
cloud) guest_cache=$cache_root/guest kernel_meta=linux-image-cloud-amd64 ;;
generic) guest_cache=$cache_root/guest-generic kernel_meta=linux-image-amd64 ;;
*) printf 'build.sh: error: VIREO_GUEST_FLAVOUR must be cloud or generic\n' >&2 && exit 1 ;;
esac
busybox_pkg=busybox-static
keep_builds=3

log() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'build.sh: error: %s\n' "$*" >&2
	exit 1
}

print_paths() {
	printf 'VIREO_GUEST_KERNEL=%s\nVIREO_GUEST_INITRAMFS=%s\n' "$1/vmlinuz" "$1/initramfs.cpio.gz"
}

mode=build
case "${1:-}" in
"") ;;
--print) mode=print ;;
--force) mode=force ;;
-h | --help)
	sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*) die "unknown argument: $1 (try --help)" ;;
esac

if [ "$mode" = print ]; then
	current=$guest_cache/current
	if [ ! -f "$current/vmlinuz" ] || [ ! -f "$current/initramfs.cpio.gz" ]; then
		die "no test guest in $guest_cache; run scripts/guest/build.sh"
	fi
	print_paths "$(readlink -f "$current")"
	exit 0
fi

for tool in apt-get apt-cache dpkg-deb cpio gzip sha256sum flock; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian packages: apt dpkg cpio gzip coreutils util-linux)"
done

# --- resolve the exact packages ----------------------------------------------------------------
# Each apt-cache call reads the package lists (~0.5 s), so ask as few times as possible.
candidates() { # PACKAGE... -> "package version" lines
	apt-cache policy "$@" 2>/dev/null |
		awk '/^[^ ].*:$/ { pkg = substr($1, 1, length($1) - 1) } /^ +Candidate:/ { print pkg, $2 }'
}

meta_ver=$(candidates "$kernel_meta" | awk '{ print $2 }')
if [ -z "$meta_ver" ] || [ "$meta_ver" = "(none)" ]; then
	[ "$(id -u)" = 0 ] || die "apt does not know $kernel_meta; run 'apt-get update' as root first"
	log "apt-get update (package lists do not know $kernel_meta)"
	apt-get update -qq >&2
fi
kernel_pkg=$(apt-cache depends "$kernel_meta" | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
[ -n "$kernel_pkg" ] || die "cannot resolve the kernel package that $kernel_meta depends on"
versions=$(candidates "$kernel_pkg" "$busybox_pkg")
kernel_ver=$(awk -v p="$kernel_pkg" '$1 == p { print $2 }' <<<"$versions")
busybox_ver=$(awk -v p="$busybox_pkg" '$1 == p { print $2 }' <<<"$versions")
for v in "$kernel_ver" "$busybox_ver"; do
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then die "no installable version of $kernel_pkg or $busybox_pkg"; fi
done
kernel_release=${kernel_pkg#linux-image-}

# The key changes with either package version or any input file, so edits to the guest rebuild it.
inputs_hash=$(
	cd "$here" &&
		find build.sh modules.txt rootfs -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12
)
safe() { printf '%s' "$1" | tr ':~' '__'; }
key="${kernel_release}_$(safe "$kernel_ver")-busybox_$(safe "$busybox_ver")-$inputs_hash"
out=$guest_cache/$key
log "guest $key"

link_current() {
	ln -sfn "$key" "$guest_cache/current.tmp.$$"
	mv -T "$guest_cache/current.tmp.$$" "$guest_cache/current"
}

if [ "$mode" != force ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ]; then
	log "cached, nothing to build"
	link_current
	print_paths "$out"
	exit 0
fi

mkdir -p "$guest_cache/debs"
exec 9>"$guest_cache/.lock"
flock -n 9 || { log "waiting for another build of the guest" && flock 9; }
# That other build may just have produced this very version.
if [ "$mode" != force ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ]; then
	log "built meanwhile by another run"
	link_current
	print_paths "$out"
	exit 0
fi

work=$(mktemp -d "$guest_cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- download and unpack ---------------------------------------------------------------------
fetch_deb() { # PACKAGE VERSION -> path of the cached .deb
	local deb dl apt_opts=()
	deb="$guest_cache/debs/${1}_$(safe "$2")_amd64.deb"
	if [ ! -s "$deb" ]; then
		log "apt-get download $1=$2"
		dl=$(mktemp -d "$work/dl.XXXXXX")
		# apt verifies the download against the signed package lists. As root, apt would drop to
		# the _apt user, who cannot write into a private temp dir.
		[ "$(id -u)" = 0 ] && apt_opts=(-o APT::Sandbox::User=root)
		(cd "$dl" && apt-get download -q "${apt_opts[@]}" "$1=$2" >&2)
		mv "$dl"/*.deb "$deb.tmp" && mv "$deb.tmp" "$deb"
	fi
	printf '%s' "$deb"
}

kernel_deb=$(fetch_deb "$kernel_pkg" "$kernel_ver")
busybox_deb=$(fetch_deb "$busybox_pkg" "$busybox_ver")
log "dpkg-deb -x $(basename "$kernel_deb")"
dpkg-deb -x "$kernel_deb" "$work/kernel"
log "dpkg-deb -x $(basename "$busybox_deb")"
dpkg-deb -x "$busybox_deb" "$work/busybox"

vmlinuz=$work/kernel/boot/vmlinuz-$kernel_release
moddir=$work/kernel/lib/modules/$kernel_release/kernel
[ -f "$vmlinuz" ] || die "$kernel_deb has no boot/vmlinuz-$kernel_release"
[ -d "$moddir" ] || die "$kernel_deb has no modules for $kernel_release"

# --- initramfs tree --------------------------------------------------------------------------
root=$work/root
log "assembling the initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt,root,var,www,lib/modules/"$kernel_release"}
cp -a "$here/rootfs/." "$root/"
chmod 0755 "$root/init" "$root/etc/vireo/dhcp-event" "$root/etc/vireo/shutdown" "$root/etc/acpi/PWRF/00000080"
install -m 0755 "$work/busybox/bin/busybox" "$root/bin/busybox"
# Applet links, as busybox --install would make them inside the guest.
"$root/bin/busybox" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf '%s\n' "$key" >"$root/etc/vireo/build-id"

# Modules: find each wanted module, add its dependencies (from its .modinfo "depends="), and emit
# them in dependency order, since the package ships no modules.dep for insmod-by-hand.
find_module() { find "$moddir" -name "$(printf '%s' "$1" | sed 's/[-_]/[-_]/g').ko" -print -quit; }
module_depends() { tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '; }
declare -A module_state=()
order=()
visit() { # NAME [optional]
	local name=${1//-/_} file dep
	[ -z "${module_state[$name]:-}" ] || return 0
	file=$(find_module "$name")
	if [ -z "$file" ]; then
		[ "${2:-}" = optional ] || die "kernel $kernel_release has no module $name"
		log "note: kernel $kernel_release has no module $name (optional, skipped)"
		module_state[$name]=missing
		return 0
	fi
	module_state[$name]=visiting
	for dep in $(module_depends "$file"); do
		[ "${module_state[${dep//-/_}]:-}" = visiting ] && die "module dependency cycle at $dep"
		visit "$dep"
	done
	module_state[$name]="done"
	cp "$file" "$root/lib/modules/$kernel_release/"
	order+=("$(basename "$file" .ko)")
}
while read -r name flag; do
	case "$name" in "" | "#"*) continue ;; esac
	visit "$name" "${flag:-}"
done <"$here/modules.txt"
printf '%s\n' "${order[@]}" >"$root/lib/modules/$kernel_release/vireo-modules.order"
log "${#order[@]} modules: ${order[*]}"

# --- archive ---------------------------------------------------------------------------------
# newc entries written by hand: GNU cpio can only archive device nodes that exist, and creating
# /dev/console with mknod would need root. The kernel opens /dev/console for /init's stdio before
# /init can mount devtmpfs, and it reads concatenated cpio archives in order.
cpio_header() { # NAME MODE RDEVMAJOR RDEVMINOR (an entry without data)
	local namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		1 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$1"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}

stage=$work/out
mkdir -p "$stage"
# Fixed timestamps and owners make the archive depend on its inputs only.
find "$root" -exec touch -h -d @0 {} +
{
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
	cpio_header dev/console $((8#020600)) 5 1
	cpio_header 'TRAILER!!!' 0 0 0
} | gzip -9 -n >"$stage/initramfs.cpio.gz"
cp "$vmlinuz" "$stage/vmlinuz"
cat >"$stage/manifest.json" <<EOF
{
  "key": "$key",
  "kernelPackage": "$kernel_pkg",
  "kernelVersion": "$kernel_ver",
  "kernelRelease": "$kernel_release",
  "busyboxVersion": "$busybox_ver",
  "modules": [$(printf '"%s",' "${order[@]}" | sed 's/,$//')]
}
EOF

rm -rf "$out"
mv "$stage" "$out"
link_current
log "initramfs $(du -h "$out/initramfs.cpio.gz" | cut -f1), kernel $(du -h "$out/vmlinuz" | cut -f1)"

# Older builds go, except the newest few (another checkout may still use one).
find "$guest_cache" -mindepth 1 -maxdepth 1 -type d ! -name debs ! -name '.*' -printf '%T@ %p\n' |
	sort -rn | tail -n +$((keep_builds + 1)) | cut -d' ' -f2- |
	while read -r old; do
		[ "$old" = "$out" ] || rm -rf "$old"
	done

print_paths "$out"
