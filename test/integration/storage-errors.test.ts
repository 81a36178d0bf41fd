import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readSync,
  writeSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { LauncherConfig, LauncherDisk } from "../../crds/launcher/config.ts";
import {
  DiskError,
  nodeStorageDeps,
  prepareDisks,
  type DiskErrorCode,
} from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { diskArgs, HostFixtures, snapshotTree } from "./storage-vm.ts";

// Bad input is refused before QEMU starts, with an error naming the disk, and nothing that exists is
// modified. Each VM also has a healthy claim without an image: it must not have been created either.

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const deps = nodeStorageDeps(pino({ level: "silent" }));

/** Whether `qemu-img info` is refused the image's shared lock (another QEMU holds it). */
async function qemuImgInfoLocked(image: string): Promise<boolean> {
  const child = spawn("qemu-img", ["info", image], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  await new Promise((resolve) => child.once("close", resolve));
  return /lock/.test(stderr);
}

describe("storage: bad volumes are refused before QEMU starts", () => {
  const fx = new HostFixtures();

  afterEach(async () => {
    await fx.release();
  });

  /** A root with a healthy, still imageless claim "good" next to the disk under test. */
  function setup(): { root: string; volumes: string; good: LauncherDisk } {
    const root = fx.tempDir();
    const volumes = join(root, "var/run/vireo/volumes");
    mkdirSync(join(volumes, "good"), { recursive: true });
    const good = testDisk("good", {
      kind: "pvcFilesystem",
      mountPath: join(volumes, "good"),
      claimName: "good",
      capacityBytes: 64 * MiB,
    });
    return { root, volumes, good };
  }

  /**
   * The launcher's order of events, prepare then start QEMU; expects the refusal and proves QEMU never ran and
   * no file under `root` changed (content, size, mtime) and the healthy claim got no image.
   */
  async function expectRefused(
    root: string,
    config: LauncherConfig,
    code: DiskErrorCode,
    disk: string,
    ...fragments: string[]
  ) {
    const before = snapshotTree(root);
    let qemuStarted = false;
    const err = await prepareDisks(config, deps).then(
      (disks) => {
        qemuStarted = diskArgs(config, disks).length > 0; // the argv would be built and QEMU started here
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiskError);
    const e = err as DiskError;
    expect({ code: e.code, disk: e.disk }).toEqual({ code, disk });
    expect(e.message).toMatch(new RegExp(`^disk "${disk}": `));
    for (const f of fragments) expect(e.message).toContain(f);
    expect(qemuStarted).toBe(false);
    expect(snapshotTree(root)).toEqual(before);
    expect(existsSync(join(root, "var/run/vireo/volumes/good/disk.img"))).toBe(false);
    return e;
  }

  /** A qcow2 image with 4 MiB of data. */
  function qcow2With(path: string): void {
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, "16M"]);
    execFileSync("qemu-io", ["-c", "write -P 0xab 0 4M", path], { stdio: "ignore" });
  }

  it("refuses a claim that is not mounted", async () => {
    const { root, volumes, good } = setup();
    const missing = join(volumes, "data");
    const config = testConfig(root, [
      good,
      testDisk("data", { kind: "pvcFilesystem", mountPath: missing, claimName: "data-pvc" }),
    ]);
    await expectRefused(root, config, "MOUNT_MISSING", "data", "data-pvc", missing);
  });

  it("refuses a corrupt qcow2 image (a damaged L1 table)", async () => {
    const { root, volumes, good } = setup();
    mkdirSync(join(volumes, "data"));
    const image = join(volumes, "data", "disk.img");
    qcow2With(image);
    // Point the first L1 entry at an unaligned offset, as a torn metadata write might.
    const fd = openSync(image, "r+");
    const header = Buffer.alloc(72);
    readSync(fd, header, 0, 72, 0);
    const l1 = Number(header.readBigUInt64BE(40));
    const entry = Buffer.alloc(8);
    readSync(fd, entry, 0, 8, l1);
    entry.writeBigUInt64BE((entry.readBigUInt64BE(0) & ~0x1ffn) | 0x200n);
    writeSync(fd, entry, 0, 8, l1);
    closeSync(fd);
    const config = testConfig(root, [
      good,
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: join(volumes, "data"),
        claimName: "data-pvc",
        format: "qcow2",
        capacityBytes: GiB,
      }),
    ]);
    await expectRefused(root, config, "IMAGE_CORRUPT", "data", image, "corrupt or truncated");
  });

  it("refuses a truncated qcow2 image, whether the data or the header is cut off", async () => {
    const { root, volumes, good } = setup();
    mkdirSync(join(volumes, "data"));
    const image = join(volumes, "data", "disk.img");
    qcow2With(image);
    truncateSync(image, MiB);
    const config = testConfig(root, [
      good,
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: join(volumes, "data"),
        claimName: "data-pvc",
        format: "qcow2",
      }),
    ]);
    await expectRefused(root, config, "IMAGE_CORRUPT", "data", image, "corruptions");
    truncateSync(image, 100);
    await expectRefused(root, config, "IMAGE_CORRUPT", "data", image, "header too short");
  });

  it("refuses a new image for which the claim has too little space", async () => {
    const { root, volumes, good } = setup();
    const small = join(volumes, "small");
    fx.mountTmpfs(small, "8m");
    const config = testConfig(root, [
      good,
      testDisk("small", {
        kind: "pvcFilesystem",
        mountPath: small,
        claimName: "small-pvc",
        capacityBytes: GiB,
      }),
    ]);
    await expectRefused(
      root,
      config,
      "INSUFFICIENT_SPACE",
      "small",
      "claim capacity 1.0 GiB",
      "8.0 MiB",
      small,
    );
  });

  it("refuses an existing image larger than its filesystem can hold", async () => {
    const { root, volumes, good } = setup();
    const small = join(volumes, "small");
    fx.mountTmpfs(small, "8m");
    const image = join(small, "disk.img");
    writeFileSync(image, "");
    truncateSync(image, 256 * MiB); // sparse: fits today, fills the filesystem long before the guest fills it
    const config = testConfig(root, [
      good,
      testDisk("small", { kind: "pvcFilesystem", mountPath: small, claimName: "small-pvc" }),
    ]);
    await expectRefused(root, config, "IMAGE_TOO_LARGE", "small", image, "256.0 MiB");
  });

  it("refuses a Block-mode claim whose device is missing or not a block device", async () => {
    const { root, good } = setup();
    const devicePath = join(root, "dev/vireo/blk");
    const config = testConfig(root, [
      good,
      testDisk("blk", { kind: "pvcBlock", devicePath, claimName: "blk-pvc" }),
    ]);
    await expectRefused(root, config, "BLOCK_DEVICE_MISSING", "blk", devicePath, "blk-pvc");
    mkdirSync(join(root, "dev/vireo"), { recursive: true });
    writeFileSync(devicePath, "not a device");
    await expectRefused(root, config, "BLOCK_DEVICE_MISSING", "blk", "not a block device");
  });

  it("refuses an image that names a backing file", async () => {
    const { root, volumes, good } = setup();
    mkdirSync(join(volumes, "data"));
    const image = join(volumes, "data", "disk.img");
    const secret = join(root, "host-file.raw");
    writeFileSync(secret, Buffer.alloc(MiB));
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", secret, image]);
    const config = testConfig(root, [
      good,
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: join(volumes, "data"),
        claimName: "data-pvc",
        format: "qcow2",
      }),
    ]);
    await expectRefused(root, config, "BACKING_FILE_NOT_ALLOWED", "data", secret);
  });

  it("refuses an image another QEMU still holds", async () => {
    const { root, volumes, good } = setup();
    mkdirSync(join(volumes, "data"));
    const image = join(volumes, "data", "disk.img");
    qcow2With(image);
    // A QEMU that outlived its launcher: paused, but holding the image's locks.
    const holder = spawn(
      "qemu-system-x86_64",
      ["-machine", "q35,accel=tcg", "-nodefaults", "-display", "none", "-S",
       "-blockdev", `driver=file,filename=${image},node-name=f0`,
       "-blockdev", "driver=qcow2,file=f0,node-name=d0", "-device", "virtio-blk-pci,drive=d0"],
      { stdio: "ignore" },
    ); // prettier-ignore
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    fx.defer(`kill qemu ${holder.pid}`, async () => {
      if (holder.exitCode === null) process.kill(holder.pid!, "SIGKILL");
      await exited;
    });
    const config = testConfig(root, [
      good,
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: join(volumes, "data"),
        claimName: "data-pvc",
        format: "qcow2",
      }),
    ]);
    // Poll (with qemu-img, which creates nothing) until QEMU has opened the image and holds its locks.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await qemuImgInfoLocked(image))) await sleep(200);
    await expectRefused(root, config, "IMAGE_IN_USE", "data", image, "another process");
  });

  it("refuses a containerDisk without a disk file, or with several and none named", async () => {
    const { root, good } = setup();
    const dir = join(root, "var/run/vireo/container-disks/root");
    const config = testConfig(root, [
      good,
      testDisk("root", { kind: "containerDisk", image: "example/os:1", dir }),
    ]);
    await expectRefused(root, config, "BASE_IMAGE_MISSING", "root", "example/os:1", dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a.img"), Buffer.alloc(MiB));
    writeFileSync(join(dir, "b.img"), Buffer.alloc(MiB));
    await expectRefused(root, config, "AMBIGUOUS_BASE_IMAGE", "root", "containerDisk.path");
  });

  it("refuses cloud-init whose Secret lacks the user-data key", async () => {
    const { root, volumes, good } = setup();
    const secretDir = join(volumes, "ci-userdata");
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, "user-data"), "#cloud-config\n"); // wrong key name
    const config = testConfig(root, [
      good,
      testDisk(
        "ci",
        { kind: "cloudInit", instanceId: "u", hostname: "h", userDataDir: secretDir },
        { readOnly: true },
      ),
    ]);
    await expectRefused(root, config, "CLOUD_INIT_DATA_MISSING", "ci", '"userdata" or "userData"', secretDir);
  });
});
