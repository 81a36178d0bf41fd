/**
 * Sets the host's /dev/kvm and /dev/net/tun to the modes real nodes ship with, for the tests that prove
 * launcher pods work whatever the node's modes are, and puts the originals back afterwards. Only the mode
 * and owner change; the nodes themselves are never removed or re-created.
 */
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, stat } from "node:fs/promises";

/** The two shapes seen on real nodes: hardened hosts, and Debian/Ubuntu's kvm group (gid varies per node). */
export const HOST_DEVICE_MODES = ["0600 root:root", "0660 root:kvm"] as const;
/** One of {@link HOST_DEVICE_MODES}. */
export type HostDeviceMode = (typeof HOST_DEVICE_MODES)[number];

/** The host nodes the launcher needs (vhost-net is absent on this kernel and handled the same way). */
export const HOST_DEVICE_PATHS = ["/dev/kvm", "/dev/net/tun", "/dev/vhost-net"] as const;

/**
 * gid of the host's kvm group; a host without one (as this one) gets a fixed gid that no test process is
 * in, which is what matters: the launcher (uid/gid 107) is not a member either way.
 */
export function kvmGid(groupFile = "/etc/group"): number {
  const line = readFileSync(groupFile, "utf8")
    .split("\n")
    .find((l) => l.startsWith("kvm:"));
  const gid = Number(line?.split(":")[2]);
  return Number.isInteger(gid) ? gid : 78;
}

/** Applies `mode` to every host node that exists; resolves to a function that restores what was there. */
export async function setHostDeviceModes(mode: HostDeviceMode): Promise<() => Promise<void>> {
  const [perm, owner] = mode.split(" ") as [string, string];
  const gid = owner === "root:kvm" ? kvmGid() : 0;
  const saved: { path: string; mode: number; uid: number; gid: number }[] = [];
  const restore = async () => {
    for (const s of saved.splice(0).reverse()) {
      await chown(s.path, s.uid, s.gid);
      await chmod(s.path, s.mode);
    }
  };
  try {
    for (const path of HOST_DEVICE_PATHS) {
      if (!existsSync(path)) continue;
      const s = await stat(path);
      saved.push({ path, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid });
      await chown(path, 0, gid);
      await chmod(path, parseInt(perm, 8));
    }
  } catch (err) {
    await restore();
    throw err;
  }
  return restore;
}
