/** Starting QEMU: the command line, the process (paused, `-S`) and its QMP connection. */
import { performance } from "node:perf_hooks";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { LogLimiter } from "../limits/log-limit.ts";
import type { AcceleratorChoice } from "../preflight/accel.ts";
import type { PreparedDisk, PreparedNic } from "../prepared.ts";
import { buildQemuArgs } from "../qemu/args.ts";
import { incomingArgs } from "../migration/plan.ts";
import type { FirmwareFiles } from "../qemu/firmware-files.ts";
import type { QemuInputs as QemuArgInputs } from "../qemu/inputs.ts";
import { spawnQemu, type QemuProcess } from "../qemu/process.ts";
import { QmpClient } from "../qemu/qmp-client.ts";
import type { RuntimeFiles } from "../qemu/runtime-files.ts";
import type { Logger } from "./logger.ts";
import { LauncherEnd } from "./outcome.ts";

/** What QEMU is started with. */
export interface QemuInputs {
  config: LauncherConfig;
  accel: AcceleratorChoice;
  disks: PreparedDisk[];
  nics: PreparedNic[];
  files: RuntimeFiles;
  firmware: FirmwareFiles;
  /** Dedicated CPU placement (pin-step.ts), when the VM asks for it. */
  dedicated?: QemuArgInputs["dedicated"];
}

/** A started QEMU with its QMP client. */
export interface StartedQemu {
  qemu: QemuProcess;
  qmp: QmpClient;
  /** Launcher process start to QEMU's first QMP answer. */
  firstQmpAnswerMs: number;
  /** QEMU's version, `major.minor.micro`. */
  version: string;
}

/**
 * Builds the argv, spawns QEMU and connects to QMP. Each part started is pushed onto `cleanups` at once;
 * failures end the run as `invalid-vm` (argv) or `qemu-start` (spawn, QMP) with QEMU's last stderr lines.
 */
export async function startQemu(
  v: QemuInputs,
  log: Logger,
  guestDriven: LogLimiter,
  cleanups: (() => Promise<void> | void)[],
): Promise<StartedQemu> {
  let argv: string[];
  try {
    argv = buildQemuArgs(v.config, {
      accel: v.accel.accel,
      hostCpuQuirks: v.accel.hostCpuQuirks,
      disks: v.disks,
      nics: v.nics,
      files: v.files,
      firmware: v.firmware,
      ...(v.dedicated ? { dedicated: v.dedicated } : {}),
    }).concat(incomingArgs(v.config));
  } catch (err) {
    throw new LauncherEnd({ kind: "invalid-vm", error: err as Error });
  }

  let qemu: QemuProcess;
  try {
    qemu = await spawnQemu(argv, {
      onStderrLine: (line) => guestDriven.log("warn", "qemu-stderr", { stderr: line }, "qemu stderr"),
    });
  } catch (err) {
    throw new LauncherEnd({ kind: "qemu-start", message: (err as Error).message });
  }
  log.info(
    { phase: "qemu-spawned", sinceStartMs: Math.round(performance.now()), pid: qemu.pid, argv: qemu.argv },
    "QEMU started",
  );
  cleanups.push(async () => {
    if (qemu.exit) return;
    qemu.kill("SIGKILL");
    await qemu.exited;
  });

  let qmp: QmpClient;
  try {
    qmp = await Promise.race([
      QmpClient.connect(v.files.qmpSocket, { connectTimeoutMs: 60_000 }),
      qemu.exited.then((exit) => {
        throw new Error(`QEMU exited before QMP answered (${exit.signal ?? `exit code ${exit.code}`})`);
      }),
    ]);
  } catch (err) {
    await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 2000))]);
    const stderr = qemu.stderrTail().slice(-8).join("\n");
    throw new LauncherEnd({
      kind: "qemu-start",
      message: `${(err as Error).message}${stderr ? `: ${stderr}` : ""}`,
    });
  }
  cleanups.push(() => qmp.close());
  const firstQmpAnswerMs = Math.round(performance.now());
  const ver = qmp.greeting.version.qemu;
  const version = `${ver.major}.${ver.minor}.${ver.micro}`;
  log.info(
    { phase: "qmp", sinceStartMs: firstQmpAnswerMs, firstQmpAnswerMs, qemu: version },
    "QMP connected",
  );
  return { qemu, qmp, firstQmpAnswerMs, version };
}
