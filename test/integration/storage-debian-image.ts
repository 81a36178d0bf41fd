import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { vireoCacheDir } from "../guest/artifacts.ts";

// A real distribution guest for the slow storage tier: Debian 12 (debootstrap) with cloud-init, the cloud
// kernel and qemu-guest-agent, as an ext4 root in a qcow2 image (a containerDisk base), plus its kernel and
// initrd for direct kernel boot. Built once (about four minutes here, as root, from the Debian mirror apt
// uses) and cached under ${VIREO_CACHE:-~/.cache/vireo}/debian-guest/<key>/.

/** Bump when the recipe changes, so the cache rebuilds. */
const RECIPE = "bookworm-cloudinit-v1";
const SUITE = "bookworm";
const MIRROR = process.env.VIREO_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const ROOT_SIZE = "2G";

/** The cached Debian guest. */
export interface DebianGuest {
  dir: string;
  kernel: string;
  initrd: string;
  /** qcow2 root filesystem image (ext4, label "root"). */
  disk: string;
}

const sh = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });

function paths(dir: string): DebianGuest {
  return {
    dir,
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    disk: join(dir, "disk.qcow2"),
  };
}

/** Unmounts every mount at or below `dir`, deepest first, by exact path. */
function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) sh("umount", [m]);
}

/** The cached guest, or undefined when it has not been built. */
export function cachedDebianGuest(): DebianGuest | undefined {
  const p = paths(join(vireoCacheDir(), "debian-guest", RECIPE));
  return [p.kernel, p.initrd, p.disk].every((f) => existsSync(f)) ? p : undefined;
}

/** Builds the guest into the cache unless it is there. Needs root (debootstrap, chroot) and the Debian mirror. */
export function buildDebianGuest(log: (line: string) => void = () => undefined): DebianGuest {
  const cached = cachedDebianGuest();
  if (cached) return cached;
  if (process.getuid?.() !== 0) throw new Error("building the Debian guest needs root (debootstrap, chroot)");
  const top = join(vireoCacheDir(), "debian-guest");
  mkdirSync(top, { recursive: true });
  const work = join(top, `.build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  mkdirSync(work, { recursive: true });
  try {
    log(`debootstrap ${SUITE} from ${MIRROR}`);
    sh("debootstrap", [
      "--variant=minbase",
      "--include=systemd-sysv,udev,ifupdown,isc-dhcp-client,e2fsprogs",
      SUITE,
      rootfs,
      MIRROR,
    ]);
    // cloud-init is installed by apt inside the chroot: debootstrap cannot resolve the virtual packages its
    // Python dependencies need (python3-cffi-backend-api-*).
    sh("mount", ["-t", "proc", "proc", join(rootfs, "proc")]);
    log("apt-get install cloud-init qemu-guest-agent linux-image-cloud-amd64");
    sh(
      "chroot",
      [
        rootfs,
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "cloud-init",
        "qemu-guest-agent",
        "linux-image-cloud-amd64",
      ],
      { DEBIAN_FRONTEND: "noninteractive" },
    );
    sh("chroot", [rootfs, "apt-get", "clean"]);
    // Timers that would only compete with the test for the CPU under TCG.
    sh("chroot", [
      rootfs,
      "systemctl",
      "mask",
      "apt-daily.timer",
      "apt-daily-upgrade.timer",
      "e2scrub_all.timer",
      "fstrim.timer",
    ]);
    sh("umount", [join(rootfs, "proc")]);

    writeFileSync(join(rootfs, "etc/fstab"), "LABEL=root / ext4 defaults,errors=remount-ro 0 1\n");
    writeFileSync(join(rootfs, "etc/machine-id"), ""); // generated at first boot
    rmSync(join(rootfs, "etc/hostname"), { force: true }); // cloud-init sets it from meta-data
    writeFileSync(join(rootfs, "etc/cloud/cloud.cfg.d/90-vireo.cfg"), "datasource_list: [ NoCloud, None ]\n");
    rmSync(join(rootfs, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(rootfs, "var/lib/apt/lists/partial"), { recursive: true });

    const boot = readdirSync(join(rootfs, "boot"));
    const vmlinuz = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!vmlinuz || !initrd) throw new Error(`no kernel or initrd in ${rootfs}/boot: ${boot.join(", ")}`);
    const out = join(work, "out");
    mkdirSync(out);
    copyFileSync(join(rootfs, "boot", vmlinuz), join(out, "vmlinuz"));
    copyFileSync(join(rootfs, "boot", initrd), join(out, "initrd.img"));
    log("mkfs.ext4 -d + qemu-img convert");
    // mkfs.ext4 -d fills the filesystem from the directory: no loop mount needed.
    sh("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", rootfs, join(work, "disk.raw"), ROOT_SIZE]);
    sh("qemu-img", [
      "convert",
      "-q",
      "-f",
      "raw",
      "-O",
      "qcow2",
      join(work, "disk.raw"),
      join(out, "disk.qcow2"),
    ]);
    writeFileSync(join(out, "recipe"), `${RECIPE}\nkernel=${vmlinuz}\n`);
    const final = join(top, RECIPE);
    rmSync(final, { recursive: true, force: true });
    renameSync(out, final);
    return paths(final);
  } finally {
    // debootstrap mounts /proc and /sys in the target and may leave them mounted when it fails: unmount
    // everything under the build directory before removing it, or rm would descend into them.
    unmountUnder(work);
    rmSync(work, { recursive: true, force: true });
  }
}
