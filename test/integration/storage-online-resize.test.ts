import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { CONTROL_ERRORS, podPaths } from "../../crds/contract/index.ts";
import { usableImageBytes } from "../../crds/contract/disk-image.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import { testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";
import { BOOT_MS, COMMAND_MS, HostFixtures } from "./storage-vm.ts";

// Online resize through the real launcher binary and a real QEMU TCG guest: the claim's capacity grows while
// the VM runs, `vireo-launcher resize-disk` (what the operator runs through pods/exec) grows disk.img with
// QMP block_resize, and the guest's kernel sees the larger disk in /sys/block/vda/size without a reboot.
// A smaller capacity is refused, and so is one the volume cannot hold yet.

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;
const sectors = (bytes: number) => bytes / 512;

describe("online disk resize", () => {
  const fx = new HostFixtures();
  beforeAll(() => void guestArtifacts());
  afterEach(async () => await fx.release());

  async function configFor(root: string, disks: LauncherConfig["disks"]): Promise<LauncherConfig> {
    const { kernel, initramfs } = guestArtifacts();
    return launcherConfigSchema.parse({
      version: "v1",
      vm: { namespace: "test", name: "resize-vm", uid: "7a1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b" },
      accelerator: { allowEmulation: true },
      machine: "q35",
      cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
      memory: { guestBytes: 256 * MiB },
      boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
      disks,
      interfaces: [],
      devices: {
        serialConsole: true,
        vnc: false,
        rng: false,
        balloon: { enabled: false, statsPollSeconds: 5 },
      },
      terminationGracePeriodSeconds: 30,
      paths: podPaths(root),
      http: { port: await freePort() },
    });
  }

  function launch(
    root: string,
    config: LauncherConfig,
  ): { child: ChildProcess; exited: Promise<number | null> } {
    const cfgFile = join(root, `config-${randomBytes(3).toString("hex")}.json`);
    writeFileSync(cfgFile, JSON.stringify(config));
    const child = spawn(
      process.execPath,
      [BIN, "--config", cfgFile, "--termination-log", join(root, "term")],
      {
        env: { ...process.env, VIREO_ACCEL: "tcg" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    fx.defer(`kill launcher ${child.pid}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    onTestFailed(() => console.error(`--- launcher ${child.pid} output ---\n${out.slice(-6000)}`));
    return { child, exited };
  }

  it("grows a running VM's Filesystem-claim disk with block_resize; refuses a shrink and an unexpanded volume", async () => {
    const root = fx.tempDir("vireo-resize-");
    const mount = join(podPaths(root).volumesDir, "data");
    fx.mountExt4(join(root, "pvc.ext4"), 256, mount);
    const config = await configFor(root, [
      testDisk("data", {
        kind: "pvcFilesystem",
        mountPath: mount,
        claimName: "data-pvc",
        capacityBytes: 128 * MiB,
      }),
    ]);
    const vm = launch(root, config);
    const con = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 60_000,
    });
    fx.defer("close console", () => con.close());
    await con.waitForReady(BOOT_MS);
    await con.waitForShell(BOOT_MS);
    const guestSectors = async () => Number((await con.check("cat /sys/block/vda/size", COMMAND_MS)).trim());
    const before = usableImageBytes(128 * MiB);
    expect(await guestSectors()).toBe(sectors(before));

    // The claim was expanded to 192 MiB (its filesystem already has the room): the operator's exec.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, "resize-disk", "data", String(192 * MiB), "--run-dir", config.paths.runDir],
      { env: process.env },
    );
    const after = usableImageBytes(192 * MiB);
    expect(JSON.parse(stdout)).toEqual({ disk: "data", action: "grow", fromBytes: before, toBytes: after });
    expect(statSync(join(mount, "disk.img")).size).toBe(after);
    // virtio-blk's config-change interrupt: the kernel updates the capacity on its own.
    const deadline = Date.now() + COMMAND_MS;
    let seen = await guestSectors();
    while (seen !== sectors(after) && Date.now() < deadline) {
      await sleep(500);
      seen = await guestSectors();
    }
    expect(seen).toBe(sectors(after));
    // The new space is usable: write at its last MiB and read it back.
    const tail = after / MiB - 1;
    expect(
      await con.check(
        `echo resized-${tail} | dd of=/dev/vda bs=1M seek=${tail} conv=fsync 2>/dev/null && ` +
          `dd if=/dev/vda bs=1M skip=${tail} count=1 2>/dev/null | head -c 12`,
        COMMAND_MS,
      ),
    ).toBe(`resized-${tail}\n`);

    const socket = runtimeFiles(config.paths).controlSocket;
    const again = await controlRequest(socket, "resize-disk", 30_000, {
      resize: { disk: "data", capacityBytes: 192 * MiB },
    });
    expect(again).toEqual({ disk: "data", action: "unchanged", sizeBytes: after });
    // A shrink, as the operator's exec sees it: exit 1 and the refusal's code on stdout.
    const shrink = await promisify(execFile)(
      process.execPath,
      [BIN, "resize-disk", "data", String(64 * MiB), "--run-dir", config.paths.runDir],
      { env: process.env },
    ).then(
      () => undefined,
      (err: { code?: number; stdout?: string }) => err,
    );
    expect(shrink?.code).toBe(1);
    expect(JSON.parse(shrink?.stdout ?? "{}")).toMatchObject({
      error: { code: CONTROL_ERRORS.SHRINK_REFUSED },
    });
    await expect(
      controlRequest(socket, "resize-disk", 30_000, { resize: { disk: "data", capacityBytes: 1024 * MiB } }),
    ).rejects.toMatchObject({
      code: CONTROL_ERRORS.RESIZE_REFUSED,
      message: expect.stringMatching(/not expanded/),
    });
    await expect(
      controlRequest(socket, "resize-disk", 30_000, { resize: { disk: "nope", capacityBytes: 1024 * MiB } }),
    ).rejects.toMatchObject({ code: CONTROL_ERRORS.RESIZE_REFUSED });
    expect(statSync(join(mount, "disk.img")).size).toBe(after);
    expect(await guestSectors()).toBe(sectors(after));

    vm.child.kill("SIGTERM");
    expect(await vm.exited).toBe(0);
  });
  it("grows a running VM's Block-claim disk to its device once the device is larger", async () => {
    const root = fx.tempDir("vireo-resize-blk-");
    const backing = join(root, "block.img");
    writeFileSync(backing, "");
    truncateSync(backing, 64 * MiB);
    const loop = fx.attachLoop(backing);
    mkdirSync(join(root, "dev/vireo"), { recursive: true });
    const devicePath = join(root, "dev/vireo/blk");
    symlinkSync(loop, devicePath);
    const config = await configFor(root, [
      testDisk("blk", { kind: "pvcBlock", devicePath, claimName: "blk-pvc" }),
    ]);
    const vm = launch(root, config);
    const con = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 60_000,
    });
    fx.defer("close console", () => con.close());
    await con.waitForReady(BOOT_MS);
    await con.waitForShell(BOOT_MS);
    const guestSectors = async () => Number((await con.check("cat /sys/block/vda/size", COMMAND_MS)).trim());
    expect(await guestSectors()).toBe(sectors(64 * MiB));
    const socket = runtimeFiles(config.paths).controlSocket;
    const resize = (capacityBytes: number) =>
      controlRequest(socket, "resize-disk", 30_000, { resize: { disk: "blk", capacityBytes } });

    // The claim says 96Mi but the device is still 64 MiB (the node has not expanded it): nothing to grow yet.
    expect(await resize(96 * MiB)).toMatchObject({
      action: "unchanged",
      sizeBytes: 64 * MiB,
      note: expect.stringMatching(/not expanded yet/),
    });
    // The node expands the device (here: the loop device's backing file, and the kernel told with losetup -c).
    truncateSync(backing, 96 * MiB);
    execFileSync("losetup", ["-c", loop]);
    expect(await resize(96 * MiB)).toEqual({
      disk: "blk",
      action: "grow",
      fromBytes: 64 * MiB,
      toBytes: 96 * MiB,
    });
    const deadline = Date.now() + COMMAND_MS;
    let seen = await guestSectors();
    while (seen !== sectors(96 * MiB) && Date.now() < deadline) {
      await sleep(500);
      seen = await guestSectors();
    }
    expect(seen).toBe(sectors(96 * MiB));
    await expect(resize(32 * MiB)).rejects.toMatchObject({ code: CONTROL_ERRORS.SHRINK_REFUSED });
    expect(await guestSectors()).toBe(sectors(96 * MiB));

    vm.child.kill("SIGTERM");
    expect(await vm.exited).toBe(0);
  });
});
