/**
 * The launcher as the pod runs it: `bin/vireo-launcher.js` as a child process with a config, booting the
 * test guest under TCG. Checks what the guest sees, and every way a VM ends: ACPI power-off, quit at the
 * deadline, guest panic, QEMU killed, and a bad config that starts nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import type { LauncherStatus } from "../../launcher/supervisor/state.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { OVMF_SHELL_BOOTS, OVMF_SHELL_DEVICE_ERROR } from "../guest/ovmf-flake.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;
const BOOT_TIMEOUT_MS = 120_000;
const root = mkdtempSync(join(tmpdir(), "vireo-launcher-"));
let seq = 0;

interface Launched {
  child: ChildProcess;
  dir: string;
  config: LauncherConfig;
  termLog: string;
  /** Resolves with the launcher's exit code. */
  exited: Promise<number | null>;
  output: () => string;
  console?: SerialConsole;
}
const launched: Launched[] = [];

async function configFor(patch: {
  cmdline?: string;
  grace?: number;
  cpu?: Partial<LauncherConfig["cpu"]>;
  disks?: LauncherConfig["disks"];
  memoryMiB?: number;
  machine?: LauncherConfig["machine"];
  boot?: LauncherConfig["boot"];
}): Promise<{ config: LauncherConfig; dir: string }> {
  const dir = join(root, `vm${++seq}`);
  const { kernel, initramfs } = guestArtifacts();
  const config = launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name: `vm${seq}`, uid: "0b7c2f1e-2a44-4b7e-8f59-6b1d3c0e9a10" },
    accelerator: { allowEmulation: true },
    machine: patch.machine ?? "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough", ...patch.cpu },
    memory: { guestBytes: (patch.memoryMiB ?? 256) * MiB },
    boot: patch.boot ?? {
      kind: "kernel",
      kernelPath: kernel,
      initrdPath: initramfs,
      cmdline: `console=ttyS0 ${patch.cmdline ?? ""}`,
    },
    disks: patch.disks ?? [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: true, statsPollSeconds: 5 } },
    terminationGracePeriodSeconds: patch.grace ?? 60,
    paths: podPaths(dir),
    http: { port: await freePort() },
  });
  return { config, dir };
}

/** Starts the launcher binary with TCG forced, as tests on this host must. */
function launch(config: unknown, dir: string): Launched {
  const cfgFile = join(root, `config-${seq}-${launched.length}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const termLog = join(root, `termination-${seq}-${launched.length}`);
  const child = spawn(process.execPath, [BIN, "--config", cfgFile, "--termination-log", termLog], {
    env: { ...process.env, VIREO_ACCEL: "tcg" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const l: Launched = { child, dir, config: config as LauncherConfig, termLog, exited, output: () => out };
  launched.push(l);
  return l;
}

async function bootToReady(l: Launched) {
  const files = runtimeFiles(l.config.paths);
  l.console = await SerialConsole.connect(files.consoleSocket, { connectTimeoutMs: 60_000 });
  try {
    return await l.console.waitForReady(BOOT_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`guest not ready; launcher output:\n${l.output().slice(-4000)}`, { cause: err });
  }
}

const status = (l: Launched) =>
  controlRequest(runtimeFiles(l.config.paths).controlSocket, "status") as Promise<LauncherStatus>;
const termination = (l: Launched) => readFileSync(l.termLog, "utf8");
const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} within ${ms} ms`)), ms)),
  ]);

afterEach(async () => {
  for (const l of launched.splice(0)) {
    l.console?.close();
    if (l.child.exitCode === null && l.child.signalCode === null) {
      l.child.kill("SIGKILL"); // QEMU follows through its parent-death signal
      await l.exited;
    }
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("launcher with the test guest (TCG)", () => {
  it("boots the configured machine, serves health and control, and powers off via ACPI on SIGTERM", async () => {
    const { config, dir } = await configFor({
      cpu: { sockets: 1, cores: 2, threads: 1 },
      memoryMiB: 320,
      disks: [
        {
          name: "data",
          bus: "virtio",
          readOnly: false,
          serial: "DATA-1",
          source: { kind: "emptyDisk", capacityBytes: 64 * MiB },
        },
        {
          name: "logs",
          bus: "scsi",
          readOnly: false,
          serial: "LOGS-2",
          source: { kind: "emptyDisk", capacityBytes: 32 * MiB },
        },
      ],
    });
    const l = launch(config, dir);
    const report = await bootToReady(l);

    expect(report.cpus).toBe(2);
    // MemTotal is the configured size less what the kernel keeps for itself.
    expect(report.memKb! * 1024).toBeLessThanOrEqual(320 * MiB);
    expect(report.memKb! * 1024).toBeGreaterThan(0.75 * 320 * MiB);
    expect(report.virtio.map((v) => v.driver)).toEqual(
      expect.arrayContaining(["virtio_rng", "virtio_balloon"]),
    );
    expect(report.pvpanic.length).toBeGreaterThan(0);
    expect(report.acpi).toEqual({ powerButton: true, handler: "acpid" });
    const disks = Object.fromEntries(report.disks.map((d) => [d.serial, d]));
    expect(disks["DATA-1"]).toMatchObject({ sizeBytes: 64 * MiB, readOnly: false, type: "disk" });
    expect(disks["LOGS-2"]).toMatchObject({ sizeBytes: 32 * MiB, readOnly: false, type: "disk" });
    expect(report.nics).toEqual([]);

    const base = `http://127.0.0.1:${config.http.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await eventually(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200));
    const st = await status(l);
    expect(st).toMatchObject({ phase: "running", accel: { accel: "tcg" } });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);

    // Pause and resume through the control socket; readiness follows.
    await controlRequest(runtimeFiles(config.paths).controlSocket, "pause");
    await eventually(async () => expect((await fetch(`${base}/readyz`)).status).toBe(503));
    await controlRequest(runtimeFiles(config.paths).controlSocket, "unpause");
    await eventually(async () => expect((await fetch(`${base}/readyz`)).status).toBe(200));

    const logs = (await controlRequest(runtimeFiles(config.paths).controlSocket, "logs")) as {
      console: string;
    };
    expect(logs.console).toContain("VIREO-GUEST ready");

    // Figures for the report: launcher RSS while the guest runs, and the first QMP answer.
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${l.child.pid}/status`, "utf8"))?.[1]);
    const qmpMs = /"firstQmpAnswerMs":(\d+)/.exec(l.output())?.[1];
    console.log(
      `launcher RSS ${rssKb} kB; first QMP answer ${qmpMs} ms after launcher start; guest ready at uptime ${report.readyUptimeMs} ms`,
    );

    // Until busybox init is PID 1 (the console shell is up), the test guest would lose the poweroff.
    await l.console!.waitForShell(BOOT_TIMEOUT_MS);
    l.child.kill("SIGTERM");
    expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(0);
    expect(termination(l)).toMatch(/^powerdown: the guest powered off [\d.]+ s after the ACPI power button$/);
    expect(l.console!.transcript).toContain("VIREO-GUEST halted");
    expect(existsSync(runtimeFiles(config.paths).controlSocket)).toBe(false);
  });

  it("runs OVMF from a per-VM variable store, and secure boot refuses an unsigned EFI binary", async () => {
    for (const secureBoot of [false, true]) {
      // The firmware's built-in shell is the only boot option; secure boot must refuse it (it is unsigned).
      const expected = secureBoot
        ? /Boot0001 "EFI Internal Shell".*: Security Violation/
        : /UEFI Interactive Shell/;
      for (let boot = 1; ; boot++) {
        const { config, dir } = await configFor({ boot: { kind: "uefi", secureBoot }, grace: 2 });
        const l = launch(config, dir);
        l.console = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
          connectTimeoutMs: 60_000,
        });
        const m = await l.console.waitFor(
          new RegExp(`${expected.source}|${OVMF_SHELL_DEVICE_ERROR.source}`),
          BOOT_TIMEOUT_MS,
        );
        const flake = OVMF_SHELL_DEVICE_ERROR.test(m[0]);
        if (!flake) expect(existsSync(runtimeFiles(config.paths).uefiVars)).toBe(true);
        l.child.kill("SIGTERM");
        expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(0);
        // Firmware does not handle the power button: stopped at the deadline.
        expect(termination(l)).toMatch(/^quit: /);
        if (!flake) break;
        expect(boot, `OVMF's shell failed to start ${boot} times: ${m[0]}`).toBeLessThan(OVMF_SHELL_BOOTS);
        console.log(`boot ${boot}: ${m[0]} — the firmware on a starved vCPU; booting once more`);
      }
    }
  });

  it("quits a guest that ignores the power button at the deadline", async () => {
    const { config, dir } = await configFor({ cmdline: "vireo.acpi=ignore", grace: 6 });
    const l = launch(config, dir);
    const report = await bootToReady(l);
    expect(report.acpi?.handler).toBe("ignore");
    const t0 = Date.now();
    l.child.kill("SIGTERM");
    expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(0);
    // Grace 6 s minus the 20 % margin: the quit comes no earlier than 4.8 s after the request.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4800);
    expect(termination(l)).toMatch(
      /^quit: the guest did not power off within 4\.8 s of the stop request; QEMU was quit$/,
    );
    expect(l.console!.transcript).not.toContain("VIREO-GUEST halted");
  });

  it("fails with exit code 5 when the guest panics", async () => {
    const { config, dir } = await configFor({ cmdline: "vireo.panic=1" });
    const l = launch(config, dir);
    const files = runtimeFiles(config.paths);
    l.console = await SerialConsole.connect(files.consoleSocket, { connectTimeoutMs: 60_000 });
    expect(await withTimeout(l.exited, BOOT_TIMEOUT_MS, "launcher did not exit")).toBe(5);
    expect(termination(l)).toMatch(/^guest panicked: /);
    expect(l.console.transcript).toContain("VIREO-GUEST panic");
  });

  it("fails with exit code 4 and the reason when QEMU is killed", async () => {
    const { config, dir } = await configFor({});
    const l = launch(config, dir);
    await bootToReady(l);
    const { qemuPid } = await status(l);
    process.kill(qemuPid!, "SIGKILL");
    expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(4);
    expect(termination(l)).toMatch(/^QEMU exited unexpectedly \(signal SIGKILL\)/);
  });

  it("rejects a bad config with the field paths before starting anything", async () => {
    const { config, dir } = await configFor({});
    const bad = {
      ...config,
      cpu: { ...config.cpu, sockets: 0 },
      memory: { guestBytes: "lots" },
      surprise: 1,
    };
    const l = launch(bad, dir);
    expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(2);
    const message = termination(l);
    expect(message).toContain("cpu.sockets:");
    expect(message).toContain("memory.guestBytes:");
    expect(message).toContain("surprise: unknown field");
    // Nothing was created or started.
    expect(existsSync(config.paths.runDir)).toBe(false);
  });

  it("refuses emulation forced for a VM that does not allow it", async () => {
    const { config, dir } = await configFor({});
    const l = launch({ ...config, accelerator: { allowEmulation: false } }, dir);
    expect(await withTimeout(l.exited, 60_000, "launcher did not exit")).toBe(3);
    expect(termination(l)).toBe(
      "preflight: VIREO_ACCEL=tcg, but the VM does not allow emulation (accelerator.allowEmulation)",
    );
    expect(existsSync(config.paths.runDir)).toBe(false);
  });
});
