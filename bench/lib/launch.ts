/**
 * Runs one VM the way a pod runs it, on this host: a network namespace plays the pod (as `vireo run` does),
 * the netsetup step runs first (the init container's part), then `bin/vireo-launcher.js` inside the
 * namespace with the test guest under TCG. Gives the bench the launcher's pid, its log and its phase marks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { imageDirs } from "../../cli/run/images.ts";
import { applyLayout, planLayout } from "../../cli/run/layout.ts";
import { createPodNetns, removePodNetns, type PodNetns } from "../../cli/run/netns.ts";
import { SerialConsole } from "../../test/guest/serial-console.ts";
import { LineSplitter, parseLogLine, phaseMarks, type LogLine, type Phase } from "./launcher-log.ts";
import type { KernelBootFiles } from "./smaps.ts";

const LAUNCHER_BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));

/** The bench VM: the test guest with what a typical VM has (a pod-network NIC, a data disk, cloud-init). */
export interface BenchVmShape {
  vcpus: number;
  memoryMiB: number;
  /** Pod-network binding of the one NIC; none for a VM without network. */
  binding?: "bridge" | "masquerade" | "passt";
  /** Add a PVC-backed data disk (the launcher creates its image) and a cloud-init disk. */
  disks?: boolean;
}

/** Builds the VirtualMachine for a shape (validated, as the operator would see it). */
export function benchVm(shape: BenchVmShape, name: string): VirtualMachine {
  const withDisks = shape.disks ?? true;
  return parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name, namespace: "bench" },
    spec: {
      cpu: { cores: shape.vcpus },
      memory: { guest: `${shape.memoryMiB}Mi` },
      firmware: {
        kernelBoot: {
          image: "vireo.dev/test-guest",
          kernelPath: "/boot/vmlinuz",
          initrdPath: "/boot/initramfs.cpio.gz",
          cmdline: `console=ttyS0 vireo.hostname=${name}${shape.binding ? " vireo.dhcp=1" : ""}`,
        },
      },
      ...(withDisks
        ? {
            disks: [{ name: "data" }, { name: "cloudinit" }],
            volumes: [
              { name: "data", persistentVolumeClaim: { claimName: "data" } },
              { name: "cloudinit", cloudInitNoCloud: { userData: "#cloud-config\nhostname: bench\n" } },
            ],
          }
        : {}),
      ...(shape.binding
        ? {
            interfaces: [{ name: "default", binding: shape.binding }],
            networks: [{ name: "default", pod: {} }],
          }
        : {}),
      terminationGracePeriodSeconds: 30,
    },
  });
}

/** How to run the launcher. */
export interface LaunchOptions {
  /** Run the compiled build (`VIREO_USE_DIST=1`) instead of tsx. */
  dist: boolean;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Unique small number for the namespace and veth names. */
  id: number;
  /** Accelerator the launcher is told to use (VIREO_ACCEL); default tcg, which every guest here needs. */
  accel?: "tcg" | "kvm";
  /** The launcher's log level; `debug` adds the start-path marks of steps that log nothing else. */
  logLevel?: "info" | "debug";
  /** Another launcher entry point (experiments: a bundled build); default bin/vireo-launcher.js. */
  script?: string;
}

/** A running launcher and its VM. */
export interface LaunchedVm {
  config: LauncherConfig;
  launcherPid: number;
  /** Milliseconds the netsetup step (the init container's part) took. */
  netsetupMs: number;
  /** Wall time from spawning the launcher to its "running" mark, seen from outside. */
  spawnToRunningMs: number;
  marks: Partial<Record<Phase, number>>;
  /** The directly booted kernel's size and the initrd's real path, as resolved when the VM started. */
  kernelBoot?: KernelBootFiles;
  /** QEMU's pid, from the launcher's "QEMU started" line. */
  qemuPid: number;
  lines: LogLine[];
  /** Waits for the test guest's "ready" line on the serial console. */
  waitGuestReady(timeoutMs: number): Promise<void>;
  /** Runs a command inside the VM's network namespace (the pod's), e.g. a metrics scrape. */
  inNamespace(argv: string[]): Promise<{ code: number; out: string }>;
  /**
   * Stops the VM, waits for the exit and removes everything. Orderly by default (ACPI power button); `force`
   * asks twice, which makes the launcher quit QEMU at once (a guest still booting ignores the button).
   */
  stop(options?: { force?: boolean }): Promise<number | null>;
}

/** Thrown when the launcher does not reach a running guest; carries its log. */
export class LaunchError extends Error {
  /** Stable code for callers. */
  readonly code = "BENCH_LAUNCH_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LaunchError";
  }
}

function runToEnd(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Starts the VM and resolves once the launcher reports the guest running. */
export async function launchVm(vm: VirtualMachine, options: LaunchOptions): Promise<LaunchedVm> {
  const workDir = mkdtempSync(join(tmpdir(), "vireo-bench-"));
  const config = launcherConfigFromVm(vm, {
    allowEmulation: true,
    defaultBinding: "bridge",
    paths: podPaths(workDir),
  });
  const configFile = join(workDir, "launcher-config.json");
  const script = options.script ?? LAUNCHER_BIN;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VIREO_ACCEL: options.accel ?? "tcg",
    VIREO_LOG_LEVEL: options.logLevel ?? "info",
    ...(options.dist ? { VIREO_USE_DIST: "1" } : {}),
  };
  let ns: PodNetns | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((r) => child!.once("exit", r));
    }
    if (ns) await removePodNetns(ns);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await applyLayout(planLayout(vm, config, imageDirs()));
    writeFileSync(configFile, JSON.stringify(config));
    // Resolved now: the guest cache's `current` link may move to a rebuilt guest while the VM runs.
    const boot = config.boot;
    const kernelBoot =
      boot.kind === "kernel"
        ? {
            kernelBytes: statSync(realpathSync(boot.kernelPath)).size,
            ...(boot.initrdPath ? { initrdPath: realpathSync(boot.initrdPath) } : {}),
          }
        : undefined;
    ns = await createPodNetns(options.id);
    const inNs = (args: string[]) => ["ip", "netns", "exec", ns!.name, ...args];
    let netsetupMs = 0;
    if (config.interfaces.length) {
      const t0 = performance.now();
      const r = await runToEnd(inNs([process.execPath, script, "netsetup", "--config", configFile]), env);
      netsetupMs = performance.now() - t0;
      if (r.code !== 0) throw new LaunchError(`netsetup failed (exit ${r.code}):\n${r.out.slice(-3000)}`);
    }

    const argv = inNs([
      process.execPath,
      ...(options.nodeArgs ?? []),
      script,
      "--config",
      configFile,
      "--termination-log",
      join(workDir, "termination-log"),
    ]);
    const spawnedAt = performance.now();
    child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env, cwd: workDir });
    const lines: LogLine[] = [];
    let raw = "";
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
    const running = new Promise<number>((resolve, reject) => {
      const split = new LineSplitter();
      const onData = (d: Buffer) => {
        const text = d.toString();
        raw = (raw + text).slice(-20_000);
        for (const line of split.push(text)) {
          const l = parseLogLine(line);
          if (!l) continue;
          lines.push(l);
          if (l.phase === "running") resolve(performance.now());
        }
      };
      child!.stdout!.on("data", onData);
      child!.stderr!.on("data", onData);
      void exited.then((code) => reject(new LaunchError(`launcher exited (${code}) before the guest ran`)));
    });
    const timeout = setTimeout(() => child?.kill("SIGKILL"), 120_000);
    let runningAt: number;
    try {
      runningAt = await running;
    } catch (err) {
      throw new LaunchError(`${(err as Error).message}; launcher output:\n${raw.slice(-4000)}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timeout);
    }
    const qemuPid = lines.find((l) => l.msg === "QEMU started")?.pid;
    if (typeof qemuPid !== "number") throw new LaunchError("the launcher logged no QEMU pid");
    const files = runtimeFiles(config.paths);
    let serial: SerialConsole | undefined;
    return {
      config,
      launcherPid: child.pid!,
      netsetupMs,
      spawnToRunningMs: runningAt - spawnedAt,
      marks: phaseMarks(lines),
      ...(kernelBoot ? { kernelBoot } : {}),
      qemuPid,
      lines,
      async waitGuestReady(timeoutMs) {
        serial ??= await SerialConsole.connect(files.consoleSocket, { connectTimeoutMs: 30_000 });
        await serial.waitForReady(timeoutMs);
      },
      inNamespace: (args) => runToEnd(inNs(args), env),
      async stop(opts = {}) {
        serial?.close();
        child!.kill("SIGTERM");
        if (opts.force) setTimeout(() => child?.kill("SIGTERM"), 50);
        const t = setTimeout(() => child?.kill("SIGKILL"), 60_000);
        const code = await exited;
        clearTimeout(t);
        await cleanup();
        return code;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
