/**
 * The `resize-disk` control command: gathers the facts (QEMU's size of the disk, the volume's room or the
 * device's size), lets {@link decideOnlineResize} decide, and grows the disk with QMP `block_resize`. QEMU
 * itself extends disk.img (raw: ftruncate, sparse; qcow2: its tables) and tells the guest's virtio-blk about
 * the new capacity, so no second writer ever touches an image that QEMU has open.
 */
import { execFile } from "node:child_process";
import { stat, statfs } from "node:fs/promises";
import { promisify } from "node:util";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../prepared.ts";
import { driveNode } from "../qemu/devices/disk.ts";
import type { QmpClient } from "../qemu/qmp-client.ts";
import { decideOnlineResize, type OnlineResizeDecision, type OnlineResizeFacts } from "./online-resize.ts";
import { CONTROL_ERRORS } from "../../crds/contract/control.ts";

/** What resize-disk answers. */
export type ResizeResult = { disk: string } & Exclude<OnlineResizeDecision, { action: "refuse" }>;

class ResizeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ResizeError";
  }
}

interface BlockNode {
  "node-name"?: string;
  image?: { "virtual-size"?: number };
}

async function deviceBytes(path: string): Promise<number> {
  const { stdout } = await promisify(execFile)("blockdev", ["--getsize64", path]);
  return Number(stdout.trim());
}

/** Grows disk `name` of the running VM to what a claim of `capacityBytes` holds, or throws a coded error. */
export async function resizeRunningDisk(
  config: LauncherConfig,
  disks: PreparedDisk[],
  qmp: QmpClient,
  request: { disk: string; capacityBytes: number },
): Promise<ResizeResult> {
  const index = disks.findIndex((d) => d.name === request.disk);
  const spec = config.disks.find((d) => d.name === request.disk);
  if (index < 0 || !spec)
    throw new ResizeError(CONTROL_ERRORS.RESIZE_REFUSED, `this VM has no disk "${request.disk}"`);
  const prepared = disks[index]!;
  const node = driveNode(index);
  const nodes = (await qmp.execute("query-named-block-nodes", { flat: true })) as BlockNode[];
  const current = nodes.find((n) => n["node-name"] === node)?.image?.["virtual-size"];
  if (current === undefined)
    throw new ResizeError(CONTROL_ERRORS.FAILED, `QEMU reports no size for block node ${node}`);
  const src = spec.source;
  const facts: OnlineResizeFacts = {
    name: request.disk,
    readOnly: spec.readOnly || prepared.readOnly,
    source: src.kind === "pvcFilesystem" || src.kind === "pvcBlock" ? src.kind : "other",
    currentBytes: current,
    capacityBytes: request.capacityBytes,
  };
  if (src.kind === "pvcFilesystem") {
    const [file, fs] = await Promise.all([stat(prepared.path), statfs(src.mountPath)]);
    facts.volume = { allocatedBytes: file.blocks * 512, availableBytes: fs.bavail * fs.bsize };
  } else if (src.kind === "pvcBlock") facts.deviceBytes = await deviceBytes(prepared.path);
  const decision = decideOnlineResize(facts);
  if (decision.action === "refuse") throw new ResizeError(decision.code, decision.message);
  if (decision.action === "grow")
    await qmp.execute("block_resize", { "node-name": node, size: decision.toBytes });
  return { disk: request.disk, ...decision };
}
