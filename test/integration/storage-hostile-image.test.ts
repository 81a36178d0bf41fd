// A guest writes what it likes into its own raw disk — here a VMDK descriptor or a qcow2 header naming a host
// file — and the launcher must still open that disk as raw next time, without qemu-img (or anything else)
// opening the host file. The host file is a FIFO: whoever opens it for reading is seen, because only then
// does a non-blocking open for writing succeed. Real qemu-img, real files, the launcher's own storage code.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DiskError, nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { diskArgs, HostFixtures } from "./storage-vm.ts";

const MiB = 2 ** 20;

/** A FIFO standing in for a host file, and whether anyone has opened it for reading since it was made. */
function canary(path: string) {
  execFileSync("mkfifo", ["-m", "0644", path]);
  let opened = false;
  const timer = setInterval(() => {
    try {
      // Succeeds only while a reader has the FIFO open (or is blocked opening it, which this releases).
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      opened = true;
    } catch {
      // ENXIO: no reader.
    }
  }, 2);
  return {
    opened: () => opened,
    stop: () => clearInterval(timer),
  };
}

/** Overwrites the start of `image` with `bytes`, as a guest writing to sector 0 of its disk does. */
function guestWrites(image: string, bytes: Buffer): void {
  const fd = openSync(image, "r+");
  writeSync(fd, bytes, 0, bytes.length, 0);
  closeSync(fd);
}

const vmdkDescriptor = (extent: string) =>
  Buffer.from(
    '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n' +
      `RW 2048 FLAT "${extent}" 0\n\nddb.virtualHWVersion = "4"\n`,
  );

describe("storage: a guest cannot change how the host opens its disk", () => {
  const fx = new HostFixtures();
  afterEach(async () => {
    await fx.release();
  });

  function setup() {
    const root = fx.tempDir();
    const mount = join(root, "var/run/vireo/volumes/data");
    mkdirSync(mount, { recursive: true });
    const image = join(mount, "disk.img");
    writeFileSync(image, "");
    truncateSync(image, 16 * MiB);
    const secret = canary(join(root, "host-secret"));
    fx.defer("stop the canary", secret.stop);
    const warnings: string[] = [];
    const deps = nodeStorageDeps(
      pino({ level: "warn" }, { write: (l: string) => void warnings.push(JSON.parse(l).msg as string) }),
    );
    const config = testConfig(root, [
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: mount,
        claimName: "data",
        capacityBytes: 16 * MiB,
      }),
    ]);
    return { root, image, secret, deps, config, warnings, fifo: join(root, "host-secret") };
  }

  it("opens a raw claim image that now holds a VMDK descriptor as raw, and never opens the extent it names", async () => {
    const { image, secret, deps, config, warnings, fifo } = setup();
    guestWrites(image, vmdkDescriptor(fifo));
    const [disk] = await prepareDisks(config, deps);
    expect(disk).toMatchObject({ path: image, format: "raw" });
    expect(diskArgs(config, [disk!]).join(" ")).toMatch(/driver=raw/);
    expect(warnings.join("\n")).toMatch(/starts like a vmdk image but is opened as raw/);
    await new Promise((r) => setTimeout(r, 50));
    expect(secret.opened()).toBe(false);
  });

  it("opens a raw claim image that now holds a qcow2 header with a backing file as raw", async () => {
    const { root, image, secret, deps, config, warnings, fifo } = setup();
    // The header qemu-img itself writes for an overlay on that host file (-u: without opening it).
    const header = join(root, "header.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", fifo, header, "16M"]);
    guestWrites(image, readFileSync(header).subarray(0, 64 * 1024));
    const [disk] = await prepareDisks(config, deps);
    expect(disk).toMatchObject({ path: image, format: "raw" });
    expect(warnings.join("\n")).toMatch(/starts like a qcow2 image but is opened as raw/);
    await new Promise((r) => setTimeout(r, 50));
    expect(secret.opened()).toBe(false);
  });

  it("refuses a container disk that is a VMDK descriptor without qemu-img opening what it names", async () => {
    const { root, secret, deps, fifo } = setup();
    const cdDir = join(root, "var/run/vireo/container-disks/root");
    mkdirSync(cdDir, { recursive: true });
    writeFileSync(join(cdDir, "disk.vmdk"), vmdkDescriptor(fifo));
    const config = testConfig(root, [
      testDisk("root", { kind: "containerDisk", image: "example/evil:1", dir: cdDir }),
    ]);
    const err = await prepareDisks(config, deps).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiskError);
    expect(err).toMatchObject({ code: "UNSUPPORTED_FORMAT", message: expect.stringMatching(/vmdk/) });
    await new Promise((r) => setTimeout(r, 50));
    expect(secret.opened()).toBe(false);
  });

  it("still opens a claim image declared qcow2 as qcow2", async () => {
    const { root, deps } = setup();
    const mount = join(root, "var/run/vireo/volumes/q");
    mkdirSync(mount, { recursive: true });
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(mount, "disk.img"), "8M"]);
    const config = testConfig(root, [
      testDisk("q", { kind: "pvcFilesystem", mountPath: mount, claimName: "q", format: "qcow2" }),
    ]);
    const [disk] = await prepareDisks(config, deps);
    expect(disk).toMatchObject({ format: "qcow2" });
  });
});
