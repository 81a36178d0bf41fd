import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { DiskError, nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { bootWithDisks, HostFixtures } from "./storage-vm.ts";

// cache=none needs O_DIRECT. The probe must agree with the kernel, the fallback must be logged, and the
// fallen-back disk must still keep what the guest wrote.

const MiB = 2 ** 20;

/** A pino logger whose JSON lines are kept for assertions. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

/** Ground truth, independent of our probe: can coreutils dd write with O_DIRECT into `dir`? */
function ddDirectWorks(dir: string): boolean {
  const target = join(dir, `.dd-direct-${randomBytes(4).toString("hex")}`);
  const r = spawnSync("dd", [
    "if=/dev/zero",
    `of=${target}`,
    "bs=4096",
    "count=1",
    "oflag=direct",
    "status=none",
  ]);
  spawnSync("rm", ["-f", target]);
  return r.status === 0;
}

/** Whether QEMU can open an image with cache=none (qemu-io -t none). */
function qemuOpensWithCacheNone(image: string): boolean {
  return (
    spawnSync("qemu-io", ["-f", "raw", "-t", "none", "-c", "read 0 512", image], { stdio: "ignore" })
      .status === 0
  );
}

function readAt(path: string, offset: number, length: number): string {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b.toString();
  } finally {
    closeSync(fd);
  }
}

describe("storage: O_DIRECT probe and the cache fallback", () => {
  const fx = new HostFixtures();

  beforeAll(() => {
    guestArtifacts();
  });

  afterEach(async () => {
    await fx.release();
  });

  it("follows the kernel on tmpfs, falls back (logged) on ramfs, and both disks keep guest writes", async () => {
    const root = fx.tempDir();
    const volumes = join(root, "var/run/vireo/volumes");
    const onTmpfs = join(volumes, "tmp");
    const onRamfs = join(volumes, "ram");
    fx.mountTmpfs(onTmpfs, "64m");
    fx.mountRamfs(onRamfs);
    const tmpfsDirect = ddDirectWorks(onTmpfs); // tmpfs gained O_DIRECT in Linux 6.6
    expect(ddDirectWorks(onRamfs)).toBe(false);
    const config = testConfig(root, [
      testDisk("tmp", {
        kind: "pvcFilesystem",
        mountPath: onTmpfs,
        claimName: "tmp",
        capacityBytes: 32 * MiB,
      }),
      testDisk("ram", {
        kind: "pvcFilesystem",
        mountPath: onRamfs,
        claimName: "ram",
        capacityBytes: 32 * MiB,
      }),
    ]);
    const { log, lines } = recordingLogger();

    const disks = await prepareDisks(config, nodeStorageDeps(log));
    expect(disks.map((d) => [d.name, d.cache, d.aio])).toEqual([
      ["tmp", ...(tmpfsDirect ? ["none", "native"] : ["writethrough", "threads"])],
      ["ram", "writethrough", "threads"],
    ]);
    const fallbacks = lines.filter((l) => l.level === 40 && String(l.msg).includes("O_DIRECT"));
    expect(fallbacks.map((l) => [l.disk, l.path, l.cache, l.aio])).toEqual([
      ...(tmpfsDirect ? [] : [["tmp", onTmpfs, "writethrough", "threads"]]),
      ["ram", onRamfs, "writethrough", "threads"],
    ]);
    // The fallback is needed: QEMU cannot open the ramfs image with cache=none.
    expect(qemuOpensWithCacheNone(join(onRamfs, "disk.img"))).toBe(false);
    expect(qemuOpensWithCacheNone(join(onTmpfs, "disk.img"))).toBe(tmpfsDirect);

    const vmDir = join(root, "vm");
    mkdirSync(vmDir);
    const vm = await bootWithDisks(vmDir, config, disks, (q) => {
      fx.defer(`kill qemu ${q.pid}`, () => q.kill());
      onTestFailed(() =>
        console.error(`--- console ---\n${q.serial.transcript.slice(-5000)}\n${q.stderr()}`),
      );
    });
    const token = `vireo-${randomBytes(8).toString("hex")}`;
    for (const dev of ["vda", "vdb"])
      await vm.sh(`printf '%s' ${token} | dd of=/dev/${dev} bs=512 seek=4 conv=notrunc,fsync 2>/dev/null`);
    process.kill(vm.qemu.pid, "SIGKILL");
    await vm.qemu.exited;
    expect(readAt(join(onTmpfs, "disk.img"), 4 * 512, token.length)).toBe(token);
    expect(readAt(join(onRamfs, "disk.img"), 4 * 512, token.length)).toBe(token);
  });

  it("refuses an explicit cache: none on storage without O_DIRECT, before creating anything", async () => {
    const root = fx.tempDir();
    const onRamfs = join(root, "var/run/vireo/volumes/ram");
    fx.mountRamfs(onRamfs);
    const config = testConfig(root, [
      testDisk(
        "ram",
        { kind: "pvcFilesystem", mountPath: onRamfs, claimName: "ram", capacityBytes: 32 * MiB },
        { cache: "none" },
      ),
    ]);
    const err = await prepareDisks(config, nodeStorageDeps(pino({ level: "silent" }))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiskError);
    expect(err).toMatchObject({ code: "DIRECT_IO_UNSUPPORTED", disk: "ram", path: onRamfs });
    expect((err as Error).message).toContain("cache: none needs O_DIRECT");
    expect(existsSync(join(onRamfs, "disk.img"))).toBe(false);
  });
});
