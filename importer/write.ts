/**
 * Inspecting a fetched image and writing the target. Filesystem claims get `disk.img` through a temporary
 * name in the same directory, fsynced and renamed only after qemu-img finished: a failed or interrupted import
 * leaves the previous `disk.img` (or none) exactly as it was, never a half disk under the name the launcher
 * opens. A Block claim has no second name: it is written only after every check passed, and the DataVolume
 * stays not Ready until the importer reports success, so no VM opens a half-written device.
 */
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ImportTarget } from "../crds/importer/config.ts";
import { filesystemDiskBytes, judgeImage, parseQemuProgress, type Accepted, type Refusal } from "./decide.ts";
import type { Fetched, OnFraction } from "./fetch.ts";
import { lastLine, qemuCheck, qemuInfo, run } from "./tools.ts";

/** The name the launcher opens on a Filesystem claim. */
export const DISK_FILE = "disk.img";
/** The temporary name an import writes first. */
export const PARTIAL_FILE = ".disk.img.importing";

/** Bytes the target holds: the device's size, or the claim less filesystem overhead. */
export async function targetBytes(target: ImportTarget): Promise<number> {
  if (target.kind === "filesystem") return filesystemDiskBytes(target.capacityBytes);
  const fh = await open(target.devicePath, "r");
  try {
    // fstat reports 0 for a device; blockdev asks the kernel (BLKGETSIZE64). A plain file stands in in tests.
    const st = await fh.stat();
    if (st.isFile()) return st.size;
    const r = await run("blockdev", ["--getsize64", target.devicePath]);
    return Number(r.stdout.trim());
  } finally {
    await fh.close();
  }
}

/** Runs qemu-img's own checks and judges the image. */
export async function inspect(file: Fetched, limit: number): Promise<Accepted | Refusal> {
  const info = await qemuInfo(file.path);
  if ("error" in info) return { ok: false, reason: "NotAnImage", message: `qemu-img info: ${info.error}` };
  const check = info.format === "qcow2" ? await qemuCheck(file.path) : undefined;
  return judgeImage(info, check, file, limit);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Converts (or creates, for a blank disk) and commits the target. */
export async function writeTarget(
  target: ImportTarget,
  image: { path: string; format: "raw" | "qcow2" } | undefined,
  sizeBytes: number,
  onFraction: OnFraction,
): Promise<Refusal | undefined> {
  const onStdout = (c: string) => {
    const f = parseQemuProgress(c);
    if (f !== undefined) onFraction(f);
  };
  if (target.kind === "block") {
    if (!image) return undefined; // a fresh block claim is the blank disk
    const r = await run(
      "qemu-img",
      ["convert", "-p", "-n", "-f", image.format, "-O", "raw", image.path, target.devicePath],
      {
        onStdout,
      },
    );
    if (r.code !== 0)
      return { ok: false, reason: "ConvertFailed", message: `qemu-img convert: ${lastLine(r.stderr)}` };
    await fsyncPath(target.devicePath);
    return undefined;
  }
  const partial = join(target.dir, PARTIAL_FILE);
  await rm(partial, { force: true });
  const fmt = target.format;
  const made = image
    ? await run("qemu-img", ["convert", "-p", "-f", image.format, "-O", fmt, image.path, partial], {
        onStdout,
      })
    : await run("qemu-img", ["create", "-f", fmt, partial, String(sizeBytes)]);
  if (made.code !== 0) {
    await rm(partial, { force: true });
    return { ok: false, reason: "ConvertFailed", message: `qemu-img: ${lastLine(made.stderr)}` };
  }
  if (image) {
    // Sized to the claim, as CDI does: the guest grows its partition into the space (cloud-init growpart).
    const grown = await run("qemu-img", ["resize", "-f", fmt, partial, String(sizeBytes)]);
    if (grown.code !== 0) {
      await rm(partial, { force: true });
      return { ok: false, reason: "ConvertFailed", message: `qemu-img resize: ${lastLine(grown.stderr)}` };
    }
  }
  await fsyncPath(partial);
  await rename(partial, join(target.dir, DISK_FILE));
  await fsyncPath(target.dir);
  onFraction(1);
  return undefined;
}

/** Size of an existing file, or undefined. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
