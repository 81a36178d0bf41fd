/**
 * The launcher's own device nodes: for each host device the plugin hands out, a node of the same
 * major:minor in a directory only root can enter, owned `root:<launcher gid>` with mode 0660.
 *
 * Why: the kubelet passes a device plugin's `host_path` to the container runtime, and the runtime makes the
 * container's node with the host node's mode and owner. Host modes differ per node (`0600 root:root` on
 * hardened hosts, `0660 root:kvm` with a per-node kvm gid on Debian and Ubuntu), so handing out /dev/kvm
 * itself leaves the non-root launcher (uid/gid 107) unable to open it. Handing out a node we made — same
 * device, an owner and mode we chose — works on every node without touching the host's /dev and without
 * making the launcher root. Root keeps owner access, which the `netsetup` init container (uid 0, only
 * NET_ADMIN, no DAC_OVERRIDE) needs for /dev/net/tun; the launcher gets group access.
 */
import { chmod, chown, lstat, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { LAUNCHER_GID } from "../crds/contract/index.ts";
import { DevicePluginError } from "./errors.ts";
import type { HostDevice } from "./resources.ts";
import { runChecked } from "../lib/process/run.ts";

const run = (file: string, args: string[]) => runChecked([file, ...args]);

/** Permission bits of a launcher node: owner root and the launcher's group may read and write. */
export const LAUNCHER_NODE_MODE = 0o660;

/** A character device's numbers. */
export interface DeviceNumbers {
  major: number;
  minor: number;
}

/** What a node on disk is, as far as the decision needs. */
export interface NodeFacts extends DeviceNumbers {
  /** False for anything that is not a character device (a file, a directory, a block device). */
  charDevice: boolean;
  uid: number;
  gid: number;
  /** Permission bits only. */
  mode: number;
}

/** What to do with a launcher node: leave it, (re)make it from the host device, or remove it. */
export type NodeAction = "keep" | "make" | "remove" | "none";

/**
 * Pure: the launcher node for `host` (undefined when the host has no such character device) given what
 * is at the node's path now (undefined when nothing is). A node that differs in any way — numbers, owner,
 * mode, type — is made again, so a host device re-created with other numbers is never handed out stale.
 */
export function nodeAction(host: DeviceNumbers | undefined, existing: NodeFacts | undefined): NodeAction {
  if (!host) return existing ? "remove" : "none";
  if (
    existing?.charDevice &&
    existing.major === host.major &&
    existing.minor === host.minor &&
    existing.uid === 0 &&
    existing.gid === LAUNCHER_GID &&
    existing.mode === LAUNCHER_NODE_MODE
  )
    return "keep";
  return "make";
}

/** Major and minor of a Linux dev_t (glibc's gnu_dev_major/gnu_dev_minor). */
export function splitDev(rdev: bigint): DeviceNumbers {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

async function facts(path: string): Promise<NodeFacts | undefined> {
  try {
    const s = await lstat(path, { bigint: true });
    return {
      ...splitDev(s.rdev),
      charDevice: s.isCharacterDevice(),
      uid: Number(s.uid),
      gid: Number(s.gid),
      mode: Number(s.mode & 0o7777n),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function hostNumbers(path: string): Promise<DeviceNumbers | undefined> {
  try {
    // stat, not lstat: /dev entries may be symlinks to the node.
    const s = await stat(path, { bigint: true });
    return s.isCharacterDevice() ? splitDev(s.rdev) : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Creates `dir` and its parents up to `top`, each 0700 root, so only root (the runtime) can reach a node. */
async function privateDirs(top: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    await chmod(d, 0o700);
    if (d === top) break;
  }
}

/** The result of one sync: whether the launcher node is ready to hand out, and what was done. */
export interface SyncResult {
  ready: boolean;
  action: NodeAction;
  host?: DeviceNumbers;
}

/**
 * Makes the launcher node of `device` match its host device (idempotent; one stat each when nothing
 * changed). The node is made under a temporary name and renamed into place, so the runtime never sees a
 * node with the wrong owner. Needs CAP_MKNOD and CAP_CHOWN; without them it throws NODE_FAILED.
 */
export async function syncLauncherNode(device: HostDevice, nodeDir: string): Promise<SyncResult> {
  const host = await hostNumbers(device.probePath);
  const action = nodeAction(host, await facts(device.nodePath));
  try {
    if (action === "remove") await rm(device.nodePath, { force: true, recursive: true });
    if (action === "make" && host) {
      await privateDirs(nodeDir, dirname(device.nodePath));
      const tmp = `${device.nodePath}.new`;
      await rm(tmp, { force: true });
      // Node's fs has no mknod(2); coreutils' mknod is in every image we build.
      await run("mknod", [
        "-m",
        LAUNCHER_NODE_MODE.toString(8),
        tmp,
        "c",
        String(host.major),
        String(host.minor),
      ]);
      await chown(tmp, 0, LAUNCHER_GID);
      await chmod(tmp, LAUNCHER_NODE_MODE);
      await rm(device.nodePath, { force: true, recursive: true });
      await rename(tmp, device.nodePath);
    }
  } catch (cause) {
    const detail = (cause as { stderr?: string }).stderr?.trim() || (cause as Error).message;
    throw new DevicePluginError(
      "NODE_FAILED",
      `${device.resourceName}: cannot ${action} the launcher's node ${device.nodePath} for ${device.probePath}: ${detail} (the plugin needs CAP_MKNOD and CAP_CHOWN)`,
      { cause },
    );
  }
  return { ready: host !== undefined, action, ...(host ? { host } : {}) };
}
