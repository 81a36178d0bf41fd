#!/usr/bin/env bash
# Builds the Debian base image every Vireo image starts from, without a registry: debootstrap (bookworm,
# minbase) from the Debian mirror the host's apt uses, then `podman import`. Cached twice: the podman image
# itself, and the root filesystem tarball under ${VIREO_CACHE:-~/.cache/vireo}/images/, so a machine whose
# podman storage was wiped imports again in seconds instead of bootstrapping for minutes.
#
# Usage:
#   scripts/images/base.sh            build (or import) when localhost/vireo-base:<suite> is missing
#   scripts/images/base.sh --force    bootstrap again, replacing the tarball and the image
#   scripts/images/base.sh --print    print the image name only
#
# Environment: VIREO_BASE_SUITE (default bookworm), VIREO_DEBIAN_MIRROR (default: from /etc/apt/sources*),
# VIREO_CACHE. Needs root (debootstrap), debootstrap, podman, tar.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

suite=${VIREO_BASE_SUITE:-bookworm}
image=localhost/vireo-base:$suite
tarball=$images_cache/base-$suite-minbase.tar

case ${1:-} in
  "") force=0 ;;
  --force) force=1 ;;
  --print)
    echo "$image"
    exit 0
    ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument $1 (try --help)" ;;
esac

if ((force == 0)) && image_exists "$image"; then
  say "$image: present"
  echo "$image"
  exit 0
fi

[[ $(id -u) == 0 ]] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
mkdir -p "$images_cache"
exec 8>"$images_cache/base.lock"
flock -w 1800 8 || die "timed out waiting for $images_cache/base.lock"

bootstrap() {
  local mirror security updates root
  mirror=${VIREO_DEBIAN_MIRROR:-$(apt_mirror "$suite")}
  [[ -n $mirror ]] || die "no apt source for $suite with component main in /etc/apt/sources.list*; set VIREO_DEBIAN_MIRROR"
  security=$(apt_mirror "$suite-security")
  updates=$(apt_mirror "$suite-updates")
  root=$(mktemp -d "$images_cache/base-root.XXXXXX")
  # A failed bootstrap leaves nothing half-made behind (the tarball is only renamed into place at the end).
  trap 'rm -rf "$root" "$tarball.tmp"' EXIT
  say "debootstrap $suite (minbase) from $mirror into $root (a few minutes)"
  nice -n 10 debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$images_cache/base-debootstrap.log" 2>&1 ||
    die "debootstrap failed; log: $images_cache/base-debootstrap.log"
  {
    echo "deb $mirror $suite main"
    [[ -z $updates ]] || echo "deb $updates $suite-updates main"
    [[ -z $security ]] || echo "deb $security $suite-security main"
  } >"$root/etc/apt/sources.list"
  # Images are run, not read: no documentation or translations from later installs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/vireo-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90vireo-norecommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/* "$root"/tmp/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  # Reproducible-ish: same owner ids and order whatever the host's users are.
  tar -C "$root" --numeric-owner --sort=name -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
  rm -rf "$root"
  trap - EXIT
  say "root filesystem: $tarball ($(du -h "$tarball" | cut -f1))"
}

if ((force == 1)) || [[ ! -f $tarball ]]; then bootstrap; fi
say "podman import $tarball -> $image"
vpodman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' --message "vireo base: debootstrap $suite minbase" "$tarball" "$image" >/dev/null
say "$image: $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec) imported"
echo "$image"
