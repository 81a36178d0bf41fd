import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { bootWithDisks, HostFixtures, sha256, type StorageVm } from "./storage-vm.ts";

// Nothing lost: the guest (the test guest, under TCG) writes and syncs, QEMU is SIGKILLed, a new
// preparation and a new QEMU on the same volume find the data. containerDisk bases stay untouched.

const MiB = 2 ** 20;
const deps = nodeStorageDeps(pino({ level: "warn" }));

describe("storage: data survives a killed VM", () => {
  const fx = new HostFixtures();

  beforeAll(() => {
    guestArtifacts(); // "run scripts/guest/build.sh" when the guest is not built
  });

  afterEach(async () => {
    await fx.release();
  });

  async function launch(dir: string, config: LauncherConfig): Promise<StorageVm> {
    const disks = await prepareDisks(config, deps);
    const vmDir = join(dir, `vm-${randomBytes(3).toString("hex")}`);
    mkdirSync(vmDir);
    const vm = await bootWithDisks(vmDir, config, disks, (q) => {
      fx.defer(`kill qemu ${q.pid}`, () => q.kill());
      onTestFailed(() => {
        console.error(
          `--- console ---\n${q.serial.transcript.slice(-5000)}\n--- qemu stderr ---\n${q.stderr()}`,
        );
      });
    });
    return vm;
  }

  /** SIGKILL, as the OOM killer or a node failure would; no flush, no clean shutdown. */
  async function crash(vm: StorageVm): Promise<void> {
    process.kill(vm.qemu.pid, "SIGKILL");
    expect((await vm.qemu.exited).signal).toBe("SIGKILL");
    await vm.qemu.kill(); // closes the console and QMP connections
  }

  it("keeps a filesystem written on a Filesystem-mode claim across SIGKILL", async () => {
    const root = fx.tempDir();
    const mount = join(root, "var/run/vireo/volumes/data");
    fx.mountExt4(join(root, "pvc.ext4"), 256, mount);
    const config = testConfig(root, [
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: mount,
        claimName: "data-pvc",
        capacityBytes: 128 * MiB,
      }),
    ]);
    const token = `vireo-${randomBytes(8).toString("hex")}`;

    const first = await launch(root, config);
    // 128 MiB claim − 5.5 % reserve = 120.96 MiB → 120 MiB, created sparse.
    expect(first.report.disks).toContainEqual(
      expect.objectContaining({ name: "vda", sizeBytes: 120 * MiB, readOnly: false, serial: "data" }),
    );
    const image = join(mount, "disk.img");
    expect(statSync(image).blocks * 512).toBeLessThan(statSync(image).size);
    await first.sh(
      `mke2fs -q -F /dev/disk/by-id/virtio-data && mkdir -p /mnt/data && mount /dev/vda /mnt/data && ` +
        `echo ${token} > /mnt/data/token && sync`,
    );
    await crash(first);

    const before = sha256(image);
    const second = await launch(root, config);
    // Preparing again used the image as it was.
    expect(sha256(image)).toBe(before);
    expect(second.report.disks).toContainEqual(
      expect.objectContaining({ name: "vda", sizeBytes: 120 * MiB }),
    );
    expect(await second.sh("mkdir -p /mnt/data && mount /dev/vda /mnt/data && cat /mnt/data/token")).toBe(
      `${token}\n`,
    );
  });

  it("keeps raw writes to a Block-mode claim (a loop device) across SIGKILL", async () => {
    const root = fx.tempDir();
    const backing = join(root, "block.img");
    writeFileSync(backing, "");
    truncateSync(backing, 64 * MiB);
    const loop = fx.attachLoop(backing);
    // The pod layout: the device appears under blockDir by volume name.
    mkdirSync(join(root, "dev/vireo"), { recursive: true });
    const devicePath = join(root, "dev/vireo/blk");
    symlinkSync(loop, devicePath);
    const config = testConfig(root, [
      testDisk("blk", { kind: "pvcBlock", devicePath, claimName: "blk-pvc" }),
    ]);
    const token = `vireo-${randomBytes(8).toString("hex")}`;

    const [prepared] = await prepareDisks(config, deps);
    expect(prepared).toMatchObject({ driver: "host_device", format: "raw", path: devicePath, cache: "none" });

    const first = await launch(root, config);
    expect(first.report.disks).toContainEqual(
      expect.objectContaining({ name: "vda", sizeBytes: 64 * MiB, serial: "blk", readOnly: false }),
    );
    await first.sh(`printf '%s' ${token} | dd of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null`);
    await crash(first);

    const second = await launch(root, config);
    expect(
      await second.sh(`dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c ${token.length}`),
    ).toBe(token);
    await crash(second);
    // And on the host: the bytes reached the device's backing file.
    const onHost = execFileSync("dd", [`if=${backing}`, "bs=512", "skip=8", "count=1", "status=none"]);
    expect(onHost.subarray(0, token.length).toString()).toBe(token);
  });

  it("grows images on a claim that grew, keeping their data, and never shrinks them", async () => {
    const root = fx.tempDir();
    const rawMount = join(root, "var/run/vireo/volumes/raw");
    const qcowMount = join(root, "var/run/vireo/volumes/qcow");
    mkdirSync(rawMount, { recursive: true });
    mkdirSync(qcowMount, { recursive: true });
    const seed = Buffer.from("seed-before-growth");
    const rawImage = join(rawMount, "disk.img");
    writeFileSync(rawImage, seed);
    truncateSync(rawImage, 32 * MiB);
    const qcowImage = join(qcowMount, "disk.img");
    execFileSync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", rawImage, qcowImage]);
    const config = testConfig(root, [
      testDisk("raw", {
        kind: "pvcFilesystem",
        mountPath: rawMount,
        claimName: "raw",
        capacityBytes: 64 * MiB,
      }),
      testDisk("qcow", {
        kind: "pvcFilesystem",
        mountPath: qcowMount,
        claimName: "qcow",
        capacityBytes: 64 * MiB,
        format: "qcow2",
      }),
    ]);

    const vm = await launch(root, config);
    // 64 MiB − 5.5 % = 60.48 MiB → 60 MiB, for both formats.
    expect(
      vm.report.disks.filter((d) => d.name.startsWith("vd")).map((d) => [d.serial, d.sizeBytes]),
    ).toEqual([
      ["raw", 60 * MiB],
      ["qcow", 60 * MiB],
    ]);
    for (const dev of ["vda", "vdb"])
      expect(await vm.sh(`dd if=/dev/${dev} bs=${seed.length} count=1 2>/dev/null`)).toBe(seed.toString());
    await crash(vm);

    // A smaller claim (as a mistaken manifest might say) does not shrink what is there.
    const smaller = testConfig(root, [
      testDisk("raw", {
        kind: "pvcFilesystem",
        mountPath: rawMount,
        claimName: "raw",
        capacityBytes: 32 * MiB,
      }),
    ]);
    const [prepared] = await prepareDisks(smaller, deps);
    expect(prepared?.path).toBe(rawImage);
    expect(statSync(rawImage).size).toBe(60 * MiB);
  });

  it("writes a containerDisk's guest data to an overlay, never to the base, and drops it at restart", async () => {
    const root = fx.tempDir();
    const cdDir = join(root, "var/run/vireo/container-disks");
    // As the operator's init container leaves them: the image's /disk/ contents in the volume directory.
    mkdirSync(join(cdDir, "root"), { recursive: true });
    mkdirSync(join(cdDir, "tools"), { recursive: true });
    const rawSeed = join(root, "seed.raw");
    writeFileSync(rawSeed, Buffer.from("BASE-CONTENT"));
    truncateSync(rawSeed, 16 * MiB);
    const qcowBase = join(cdDir, "root", "debian.qcow2");
    execFileSync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", rawSeed, qcowBase]);
    const rawBase = join(cdDir, "tools", "tools.img");
    execFileSync("cp", [rawSeed, rawBase]);
    const bases = { qcow: sha256(qcowBase), raw: sha256(rawBase) };
    const config = testConfig(root, [
      testDisk("root", { kind: "containerDisk", image: "example/debian:12", dir: join(cdDir, "root") }),
      testDisk("tools", {
        kind: "containerDisk",
        image: "example/tools:1",
        dir: join(cdDir, "tools"),
        path: "/disk/tools.img",
      }),
      testDisk("scratch", { kind: "emptyDisk", capacityBytes: 8 * MiB }),
    ]);
    const token = `vireo-${randomBytes(8).toString("hex")}`;

    const first = await launch(root, config);
    expect(
      first.report.disks.filter((d) => d.name.startsWith("vd")).map((d) => [d.serial, d.sizeBytes]),
    ).toEqual([
      ["root", 16 * MiB],
      ["tools", 16 * MiB],
      ["scratch", 8 * MiB],
    ]);
    for (const dev of ["vda", "vdb", "vdc"]) {
      await first.sh(`printf '%s' ${token} | dd of=/dev/${dev} bs=512 conv=notrunc,fsync 2>/dev/null`);
      expect(await first.sh(`dd if=/dev/${dev} bs=${token.length} count=1 2>/dev/null`)).toBe(token);
    }
    await crash(first);
    expect({ qcow: sha256(qcowBase), raw: sha256(rawBase) }).toEqual(bases);
    // No write permission left on the bases either.
    expect(statSync(qcowBase).mode & 0o222).toBe(0);
    expect(statSync(rawBase).mode & 0o222).toBe(0);

    // Ephemeral, as in KubeVirt: a new start begins from the base and a blank empty disk.
    const second = await launch(root, config);
    expect(await second.sh("dd if=/dev/vda bs=12 count=1 2>/dev/null")).toBe("BASE-CONTENT");
    expect(await second.sh("dd if=/dev/vdb bs=12 count=1 2>/dev/null")).toBe("BASE-CONTENT");
    expect(await second.sh("dd if=/dev/vdc bs=12 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n'")).toBe(
      "000000000000000000000000",
    );
    await crash(second);
    expect({ qcow: sha256(qcowBase), raw: sha256(rawBase) }).toEqual(bases);
  });

  it("presents a read-only disk that refuses guest writes", async () => {
    const root = fx.tempDir();
    const mount = join(root, "var/run/vireo/volumes/ro");
    mkdirSync(mount, { recursive: true });
    const image = join(mount, "disk.img");
    writeFileSync(image, Buffer.from("read-only-content"));
    truncateSync(image, 8 * MiB);
    const before = { sha: sha256(image), mtimeMs: statSync(image).mtimeMs };
    const config = testConfig(root, [
      testDisk(
        "ro",
        { kind: "pvcFilesystem", mountPath: mount, claimName: "ro", capacityBytes: 64 * MiB },
        { readOnly: true },
      ),
    ]);

    const vm = await launch(root, config);
    expect(vm.report.disks).toContainEqual(
      expect.objectContaining({ name: "vda", readOnly: true, serial: "ro", sizeBytes: 8 * MiB }),
    );
    const write = await vm.qemu.serial.run("printf overwrite | dd of=/dev/vda conv=notrunc,fsync", 60_000);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/Operation not permitted|Read-only file system|Permission denied/);
    expect(await vm.sh("dd if=/dev/vda bs=17 count=1 2>/dev/null")).toBe("read-only-content");
    await crash(vm);
    // Not grown (read-only), not written.
    expect({ sha: sha256(image), mtimeMs: statSync(image).mtimeMs }).toEqual(before);
  });
});
