/**
 * The launcher's run, in its phases: preflight, preparation, QEMU, serving, the guest's life, the end. Each
 * phase is a step in its own file; a step that ends the run throws {@link LauncherEnd}, and outcome.ts alone
 * turns the ending into the exit code and termination message. What happens while the guest runs is decided
 * by the reducer (state.ts) and carried out by the driver (vm-driver.ts).
 */
import { performance } from "node:perf_hooks";
import { EXIT, readyFilePath, type ExitCode, type LauncherResult } from "../../crds/contract/index.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { CollectorRegistrar } from "../http/registry.ts";
import { readyMarker } from "../http/ready-marker.ts";
import { LogLimiter } from "../limits/log-limit.ts";
import type { AcceleratorChoice, KvmProbe } from "../preflight/accel.ts";
import { firmwareFiles } from "../qemu/firmware-files.ts";
import { runtimeFiles } from "../qemu/runtime-files.ts";
import { writeTerminationMessage } from "../../lib/termination.ts";
import type { Logger } from "./logger.ts";
import { LauncherEnd, resultOf } from "./outcome.ts";
import { beginPreflight } from "./preflight-step.ts";
import { prepareAll, realPreparation, type Preparation } from "./preparation.ts";
import { dedicatedPlacement, pinQemuThreads } from "./pin-step.ts";
import { startQemu, type StartedQemu } from "./qemu-step.ts";
import { startTpm } from "./tpm-step.ts";
import { loadServing, serveVm } from "./serve-step.ts";
import { VmDriver } from "./vm-driver.ts";
import { MigrationSession } from "../migration/session.ts";

/** Where stop requests come from (process signals in the launcher; an emitter in tests). */
export interface StopSource {
  /** Calls `onStop` for each stop request; returns a function that unsubscribes. */
  subscribe(onStop: (signal: string) => void): () => void;
}

/** SIGTERM (the kubelet) and SIGINT (Ctrl-C in standalone mode) request a stop. */
export const processSignals: StopSource = {
  subscribe(onStop) {
    const term = () => onStop("SIGTERM");
    const int = () => onStop("SIGINT");
    process.on("SIGTERM", term);
    process.on("SIGINT", int);
    return () => {
      process.off("SIGTERM", term);
      process.off("SIGINT", int);
    };
  },
};

/** What the launcher needs besides its config. */
export interface LauncherDeps {
  logger: Logger;
  terminationLog: string;
  env?: NodeJS.ProcessEnv;
  probe?: () => Promise<KvmProbe>;
  preparation?: Preparation;
  stops?: StopSource;
  /** Overrides config.http (tests: port 0 on 127.0.0.1). */
  http?: { port: number; host?: string };
  collectors?: CollectorRegistrar[];
  /** Called once the guest runs, with the figures (tests and measurements). */
  onRunning?: (info: RunningInfo) => void;
}

/** Figures and handles once the guest runs. */
export interface RunningInfo {
  qemuPid: number;
  httpPort: number;
  /** Launcher process start to QEMU's first QMP answer. */
  firstQmpAnswerMs: number;
  accel: AcceleratorChoice;
}

/** Runs the VM until it ends; returns the exit code and writes the termination message. */
export async function runLauncher(config: LauncherConfig, deps: LauncherDeps): Promise<ExitCode> {
  const { code, message } = await supervise(config, deps);
  const err = writeTerminationMessage(deps.terminationLog, message);
  if (err)
    deps.logger.warn({ err: err.message, path: deps.terminationLog }, "cannot write the termination message");
  deps.logger[code === EXIT.OK ? "info" : "error"]({ exitCode: code }, message);
  return code;
}

/** Start-path marks (`npm run bench -- start` reads them): milliseconds since this process started. */
const mark = (
  log: Logger,
  level: "info" | "debug",
  phase: string,
  data: Record<string, unknown>,
  msg: string,
) => log[level]({ phase, sinceStartMs: Math.round(performance.now()), ...data }, msg);

/** Stop requests: remembered before QEMU runs (the run ends at the next step), handed to the driver after. */
function stopRelay(stops: StopSource, log: Logger) {
  const relay = {
    early: undefined as string | undefined,
    onStop: (signal: string) => {
      relay.early = signal;
      log.info({ signal }, "stop requested before the VM started");
    },
  };
  const unsubscribe = stops.subscribe((signal) => relay.onStop(signal));
  return { relay, unsubscribe };
}

async function supervise(config: LauncherConfig, deps: LauncherDeps): Promise<LauncherResult> {
  const log = deps.logger;
  const { relay, unsubscribe } = stopRelay(deps.stops ?? processSignals, log);
  const cleanups: (() => Promise<void> | void)[] = [unsubscribe];
  mark(log, "debug", "config", {}, "config loaded");
  // What the launcher serves once QEMU runs (console, metrics with prom-client, HTTP, control socket) is not
  // needed to start QEMU: load it while preparation and QEMU's own start wait on other processes, not before
  // the first step. Measured (npm run bench -- start, 10 runs each, load ~8 on 2 cores): config parsed p50
  // 310 → 212 ms, QEMU's first QMP answer 466 → 435 ms, guest running 496 → 448 ms.
  const serving = loadServing();
  serving.catch(() => {}); // awaited once QEMU runs; a failure then is reported there
  try {
    return await phases(config, deps, relay, serving, cleanups);
  } catch (err) {
    if (err instanceof LauncherEnd) return resultOf(err.ending);
    throw err;
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  }
}

async function phases(
  config: LauncherConfig,
  deps: LauncherDeps,
  relay: ReturnType<typeof stopRelay>["relay"],
  serving: ReturnType<typeof loadServing>,
  cleanups: (() => Promise<void> | void)[],
): Promise<LauncherResult> {
  const log = deps.logger;
  /** What the guest can make happen as often as it likes is logged at a bounded rate (docs/security.md). */
  const guestDriven = new LogLimiter(log);
  const files = runtimeFiles(config.paths, config.boot);
  const firmware = firmwareFiles(config.boot.kind === "uefi" && config.boot.secureBoot);

  const accelerator = beginPreflight(config, deps.env ?? process.env, log, deps.probe);
  const prepared = await prepareAll(
    config,
    deps.preparation ?? realPreparation,
    files,
    firmware,
    log,
    cleanups,
  );
  const accel = await accelerator();
  logAccelerator(log, accel, config);
  if (prepared.error) throw new LauncherEnd({ kind: "prepare", error: prepared.error });
  if (relay.early) throw new LauncherEnd({ kind: "stopped-early", signal: relay.early });

  const { disks, nics } = prepared;
  await startTpm(config, files, log, guestDriven, cleanups);
  const dedicated = await dedicatedPlacement(config);
  const q = await startQemu(
    { config, accel, disks, nics, files, firmware, ...(dedicated ? { dedicated } : {}) },
    log,
    guestDriven,
    cleanups,
  );
  // QEMU is paused (-S): its threads are pinned before any guest code runs.
  if (dedicated) await pinQemuThreads(q.qemu.pid, q.qmp, dedicated.plan, log);
  const driver = attachDriver(config, q, accel, log, guestDriven, cleanups);
  relay.onStop = (signal) => driver.stop(signal);
  const migration = migrationSession(config, q, driver, log);

  let httpPort: number;
  try {
    httpPort = await serveVm(
      serving,
      {
        config,
        files,
        accel,
        disks,
        nics,
        qemu: q.qemu,
        qmp: q.qmp,
        driver,
        log,
        http: deps.http,
        collectors: deps.collectors,
        migration,
      },
      cleanups,
    );
  } catch (err) {
    if (!q.qemu.exit) throw new LauncherEnd({ kind: "setup", error: err as Error });
    driver.dispatch({ type: "qemu-exited", exit: q.qemu.exit, stderrTail: q.qemu.stderrTail() });
    return resultOf({ kind: "vm-ended", outcome: driver.status.outcome });
  }

  // Everything is attached: let the guest run (or, if a stop came meanwhile, quit right away).
  if (relay.early) driver.stop(relay.early);
  else if (config.migration?.incoming) driver.dispatch({ type: "attached", incoming: true });
  else await letRun(driver, q, { log, httpPort, accel, onRunning: deps.onRunning });

  const exit = await q.qemu.exited;
  driver.dispatch({ type: "qemu-exited", exit, stderrTail: q.qemu.stderrTail() });
  return resultOf({ kind: "vm-ended", outcome: driver.status.outcome });
}

/**
 * This launcher's part in a live migration (launcher/migration/session.ts), driven over the control socket:
 * a target resumes through the reducer (`migrated-in` → `cont`), a source that has handed its guest over
 * ends through it (`migrated-out` → `quit`, outcome "migrated").
 */
function migrationSession(config: LauncherConfig, q: StartedQemu, driver: VmDriver, log: Logger) {
  return new MigrationSession({
    role: config.migration?.incoming ? "target" : "source",
    qmp: q.qmp,
    guestMemoryBytes: config.memory.guestBytes,
    resume: async () => {
      await Promise.all(driver.dispatch({ type: "migrated-in" }).sent);
      driver.dispatch({ type: "running" });
    },
    onMigratedOut: (last) =>
      driver.dispatch({
        type: "migrated-out",
        summary: {
          downtimeMs: last?.downtimeMilliseconds,
          transferredBytes: last?.transferredBytes,
          totalTimeMs: last?.totalTimeMilliseconds,
        },
      }),
    log,
  });
}

/** The reducer's shell on the started QEMU: QMP events flow into it (guest-driven ones logged at a bounded rate). */
function attachDriver(
  config: LauncherConfig,
  q: Awaited<ReturnType<typeof startQemu>>,
  accel: AcceleratorChoice,
  log: Logger,
  guestDriven: LogLimiter,
  cleanups: (() => Promise<void> | void)[],
): VmDriver {
  const driver = new VmDriver({
    qemu: q.qemu,
    qmp: q.qmp,
    log,
    ready: readyMarker(readyFilePath(config.paths.runDir), log),
    terminationGracePeriodSeconds: config.terminationGracePeriodSeconds,
  });
  cleanups.push(() => driver.close());
  driver.dispatch({ type: "qemu-started", pid: q.qemu.pid, qemuVersion: q.version, accel });
  q.qmp.onEvent((event) => {
    // Events the guest can raise at will (RTC_CHANGE, GUEST_PANICKED, …) share a per-event-name budget;
    // names come from QEMU's fixed set, so the guest cannot mint new buckets (and there are at most 64).
    guestDriven.log(
      "info",
      `qmp-${event.event}`,
      { event: event.event, data: event.data },
      `QMP event ${event.event}`,
    );
    driver.dispatch({ type: "event", event });
  });
  return driver;
}

function logAccelerator(log: Logger, accel: AcceleratorChoice, config: LauncherConfig): void {
  log[accel.accel === "kvm" ? "info" : "warn"](
    {
      phase: "preflight",
      sinceStartMs: Math.round(performance.now()),
      accelerator: accel.accel,
      hostCpuQuirks: accel.hostCpuQuirks,
      reason: accel.reason,
    },
    `accelerator: ${accel.accel} — ${accel.reason}`,
  );
  if (accel.accel === "tcg" && config.machine === "microvm")
    // Seen here: microvm has no HPET or ACPI PM timer, so under TCG on a busy host the guest kernel can
    // fail to calibrate its clock against the PIT and stall at boot; q35 has both references.
    log.warn(
      "microvm under TCG: the guest kernel may stall calibrating its clock on a busy host; q35 is safer",
    );
}

/** Resumes the paused QEMU (the reducer sends `cont`) and reports the guest running. */
async function letRun(
  driver: VmDriver,
  q: StartedQemu,
  o: { log: Logger; httpPort: number; accel: AcceleratorChoice; onRunning: LauncherDeps["onRunning"] },
): Promise<void> {
  try {
    const { sent } = driver.dispatch({ type: "attached" });
    if (!sent.length) return; // a stop came while attaching: the reducer quits QEMU instead
    await Promise.all(sent);
    driver.dispatch({ type: "running" });
    mark(o.log, "info", "running", { pid: q.qemu.pid, httpPort: o.httpPort }, "guest running");
    o.onRunning?.({
      qemuPid: q.qemu.pid,
      httpPort: o.httpPort,
      firstQmpAnswerMs: q.firstQmpAnswerMs,
      accel: o.accel,
    });
  } catch (err) {
    o.log.error({ err: (err as Error).message }, "cont failed");
  }
}
