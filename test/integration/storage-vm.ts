import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../../launcher/prepared.ts";
import { diskArgs as coreDiskArgs } from "../../launcher/qemu/devices/disk.ts";
import { firmwareFiles } from "../../launcher/qemu/firmware-files.ts";
import type { QemuInputs } from "../../launcher/qemu/inputs.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { startTestQemu, type TestQemu } from "../guest/test-qemu.ts";
import type { GuestReport } from "../guest/report.ts";

// Helpers for the storage integration tests: the test guest booted with the disks rendered by the launcher
// core's disk device module (launcher/qemu/devices/disk.ts), and host fixtures with reliable teardown.

/** Boot to the console shell under TCG on a busy two-core machine. */
export const BOOT_MS = 240_000;
/** One guest shell command. */
export const COMMAND_MS = 60_000;

/** The launcher core's `-blockdev`/`-device` arguments for prepared disks. */
export function diskArgs(config: LauncherConfig, disks: PreparedDisk[]): string[] {
  const inputs: QemuInputs = {
    accel: "tcg",
    hostCpuQuirks: [],
    disks,
    nics: [],
    files: runtimeFiles(config.paths),
    firmware: firmwareFiles(false),
  };
  return coreDiskArgs({ config, inputs });
}

/** A booted guest with its console shell ready. */
export interface StorageVm {
  qemu: TestQemu;
  report: GuestReport;
  /** Runs a shell command in the guest; throws on a non-zero exit. */
  sh(command: string): Promise<string>;
}

/** Boots the test guest with these disks and waits for its shell. The caller kills `qemu`. */
export async function bootWithDisks(
  dir: string,
  config: LauncherConfig,
  disks: PreparedDisk[],
  onStart?: (q: TestQemu) => void,
): Promise<StorageVm> {
  const qemu = await startTestQemu({ dir, args: diskArgs(config, disks) });
  onStart?.(qemu);
  const report = await qemu.serial.waitForReady(BOOT_MS);
  await qemu.serial.waitForShell(BOOT_MS);
  return { qemu, report, sh: (command) => qemu.serial.check(command, COMMAND_MS) };
}

/** sha256 of a file's bytes. */
export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Every regular file under `dir` with its sha256, size and mtime: the "nothing was modified" witness. */
export function snapshotTree(dir: string): Record<string, { sha256: string; size: number; mtimeMs: number }> {
  const out: Record<string, { sha256: string; size: number; mtimeMs: number }> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = statSync(p);
        out[p] = { sha256: sha256(p), size: s.size, mtimeMs: s.mtimeMs };
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Undo steps for what a test sets up on the host (QEMU processes, mounts, loop devices, temp dirs), run in
 * reverse order in teardown. Mounts and loop devices are released by their exact path, never by pattern.
 */
export class HostFixtures {
  #undo: { what: string; run: () => Promise<void> | void }[] = [];

  /** Registers an undo step. */
  defer(what: string, run: () => Promise<void> | void): void {
    this.#undo.push({ what, run });
  }

  /** A fresh temporary directory, removed in teardown. */
  tempDir(prefix = "vireo-storage-"): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.defer(`rm -rf ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Mounts a tmpfs of `size` (e.g. "8m") at `dir`. */
  mountTmpfs(dir: string, size: string): void {
    mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
    this.defer(`umount ${dir}`, () => void execFileSync("umount", [dir]));
  }

  /** Mounts a ramfs (no O_DIRECT on any kernel) at `dir`. */
  mountRamfs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-t", "ramfs", "-o", "mode=0755", "ramfs", dir]);
    this.defer(`umount ${dir}`, () => void execFileSync("umount", [dir]));
  }

  /** Attaches `file` to a free loop device and returns the device path. */
  attachLoop(file: string): string {
    const dev = execFileSync("losetup", ["--find", "--show", file], { encoding: "utf8" }).trim();
    this.defer(`losetup -d ${dev}`, () => void execFileSync("losetup", ["-d", dev]));
    return dev;
  }

  /** Makes an ext4 filesystem of `sizeMiB` in a file, on a loop device, mounted at `dir`: a stand-in PVC. */
  mountExt4(image: string, sizeMiB: number, dir: string): void {
    writeFileSync(image, "");
    truncateSync(image, sizeMiB * 2 ** 20);
    execFileSync("mkfs.ext4", ["-q", "-F", image]);
    const dev = this.attachLoop(image);
    mkdirSync(dir, { recursive: true });
    execFileSync("mount", [dev, dir]);
    this.defer(`umount ${dir}`, () => void execFileSync("umount", [dir]));
  }

  /** Runs every undo step, newest first; collects failures and throws them together at the end. */
  async release(): Promise<void> {
    const failures: string[] = [];
    for (const { what, run } of this.#undo.splice(0).reverse()) {
      try {
        await run();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new Error(`teardown failed:\n${failures.join("\n")}`);
  }
}
