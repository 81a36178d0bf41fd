import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import type { LauncherStatus } from "../../launcher/supervisor/state.ts";
import { testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";
import { BOOT_MS, COMMAND_MS, HostFixtures, snapshotTree } from "./storage-vm.ts";

// The same promises through the real launcher (`bin/vireo-launcher.js`, as the pod runs it): the launcher
// is SIGKILLed with the guest's data synced, its QEMU dies with it, and a new launcher on the same claim
// finds the data; a bad volume ends the launcher with the disk's error before QEMU starts.

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;

interface Launched {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  termination: () => string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("storage through the launcher binary", () => {
  const fx = new HostFixtures();

  beforeAll(() => {
    guestArtifacts();
  });

  afterEach(async () => {
    await fx.release();
  });

  async function configFor(root: string, disks: LauncherConfig["disks"]): Promise<LauncherConfig> {
    const { kernel, initramfs } = guestArtifacts();
    return launcherConfigSchema.parse({
      version: "v1",
      vm: { namespace: "test", name: "storage-vm", uid: "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b" },
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

  function launch(root: string, config: LauncherConfig): Launched {
    const id = randomBytes(3).toString("hex");
    const cfgFile = join(root, `config-${id}.json`);
    const termLog = join(root, `termination-${id}`);
    writeFileSync(cfgFile, JSON.stringify(config));
    const child = spawn(process.execPath, [BIN, "--config", cfgFile, "--termination-log", termLog], {
      env: { ...process.env, VIREO_ACCEL: "tcg" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    fx.defer(`kill launcher ${child.pid}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    onTestFailed(() => console.error(`--- launcher ${child.pid} output ---\n${out.slice(-6000)}`));
    return { child, exited, output: () => out, termination: () => readFileSync(termLog, "utf8") };
  }

  async function shell(config: LauncherConfig): Promise<SerialConsole> {
    const console_ = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 60_000,
    });
    fx.defer("close console", () => console_.close());
    await console_.waitForReady(BOOT_MS);
    await console_.waitForShell(BOOT_MS);
    return console_;
  }

  it("keeps synced guest data when the launcher is SIGKILLed, for the next launcher on the claim", async () => {
    const root = fx.tempDir();
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
    const token = `vireo-${randomBytes(8).toString("hex")}`;

    const first = launch(root, config);
    const c1 = await shell(config);
    expect(c1.report().disks).toContainEqual(
      expect.objectContaining({ name: "vda", serial: "data", sizeBytes: 120 * MiB }),
    );
    await c1.check(
      `mke2fs -q -F /dev/vda && mkdir -p /mnt/d && mount /dev/vda /mnt/d && echo ${token} > /mnt/d/token && sync`,
      COMMAND_MS,
    );
    const { qemuPid } = (await controlRequest(
      runtimeFiles(config.paths).controlSocket,
      "status",
    )) as LauncherStatus;
    expect(qemuPid).toBeGreaterThan(0);
    first.child.kill("SIGKILL");
    await first.exited;
    // QEMU dies with its launcher (parent-death signal): no second writer on the image.
    const deadline = Date.now() + 60_000;
    while (alive(qemuPid!) && Date.now() < deadline) await sleep(100);
    expect(alive(qemuPid!)).toBe(false);

    const second = launch(root, config);
    const c2 = await shell(config);
    expect(await c2.check("mkdir -p /mnt/d && mount /dev/vda /mnt/d && cat /mnt/d/token", COMMAND_MS)).toBe(
      `${token}\n`,
    );
    second.child.kill("SIGTERM"); // ACPI power-off: a clean stop
    expect(await second.exited).toBe(0);
  });

  it("ends with the disk's error before QEMU starts, leaving every file as it was", async () => {
    const root = fx.tempDir();
    const volumes = podPaths(root).volumesDir;
    mkdirSync(join(volumes, "good"), { recursive: true });
    const config = await configFor(root, [
      testDisk("good", {
        kind: "pvcFilesystem",
        mountPath: join(volumes, "good"),
        claimName: "good",
        capacityBytes: 64 * MiB,
      }),
      testDisk("data", { kind: "pvcFilesystem", mountPath: join(volumes, "data"), claimName: "data-pvc" }),
    ]);
    const before = snapshotTree(volumes);

    const l = launch(root, config);
    expect(await l.exited).toBe(6); // EXIT.PREPARE
    expect(l.termination()).toMatch(/^preparation failed \(MOUNT_MISSING\): disk "data": .*data-pvc/);
    expect(l.output()).not.toContain("QEMU started");
    expect(existsSync(runtimeFiles(config.paths).qmpSocket)).toBe(false);
    expect(snapshotTree(volumes)).toEqual(before);
    expect(existsSync(join(volumes, "good", "disk.img"))).toBe(false);
  });
});
