/**
 * The launcher's shell: preflight, preparation, QEMU, QMP, console, HTTP and control socket, then the
 * reducer (state.ts) decides and this file carries out its actions until QEMU has exited.
 */
import { performance } from "node:perf_hooks";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { ConsoleHub } from "../console/hub.ts";
import { LogLimiter } from "../limits/log-limit.ts";
import type { CollectorRegistrar } from "../http/registry.ts";
import { isReady, type HealthServer } from "../http/server.ts";
import { readyMarker } from "../http/ready-marker.ts";
import { EXIT, readyFilePath, type ControlRequest, type ExitCode } from "../../crds/contract/index.ts";
import {
  ACCEL_ENV,
  acceleratorOverride,
  chooseAccelerator,
  type AcceleratorChoice,
  type KvmProbe,
} from "../preflight/accel.ts";
import { probeKvm } from "../preflight/kvm-probe.ts";
import type { PreparedDisk, PreparedNic, RunningService } from "../prepared.ts";
import { buildQemuArgs } from "../qemu/args.ts";
import { firmwareFiles } from "../qemu/firmware-files.ts";
import { runtimeFiles } from "../qemu/runtime-files.ts";
import type { ControlServer } from "./control-server.ts";
import type { Logger } from "./logger.ts";
import { makeDirectories, prepareUefiVars, realPreparation, type Preparation } from "./preparation.ts";
import { QmpClient } from "./qmp-client.ts";
import { spawnQemu, type QemuProcess } from "./qemu-process.ts";
import {
  finalResult,
  initialStatus,
  reduce,
  stopGraceMs,
  type Action,
  type Input,
  type VmStatus,
} from "./state.ts";
import { writeTerminationMessage } from "./termination.ts";

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

/** The modules that serve a running VM, loaded off the path to QEMU's start. */
async function loadServing() {
  const [hub, registry, server, control] = await Promise.all([
    import("../console/hub.ts"),
    import("../http/registry.ts"),
    import("../http/server.ts"),
    import("./control-server.ts"),
  ]);
  return {
    ConsoleHub: hub.ConsoleHub,
    createRegistry: registry.createRegistry,
    registerCollectors: registry.registerCollectors,
    startHealthServer: server.startHealthServer,
    startControlServer: control.startControlServer,
  };
}

async function supervise(
  config: LauncherConfig,
  deps: LauncherDeps,
): Promise<{ code: ExitCode; message: string }> {
  const log = deps.logger;
  /** What the guest can make happen as often as it likes is logged at a bounded rate (docs/security.md). */
  const guestDriven = new LogLimiter(log);
  const env = deps.env ?? process.env;
  const stops = deps.stops ?? processSignals;
  const preparation = deps.preparation ?? realPreparation;
  const files = runtimeFiles(config.paths, config.boot);
  const firmware = firmwareFiles(config.boot.kind === "uefi" && config.boot.secureBoot);

  // A stop before QEMU runs ends the launcher at the next step boundary.
  let earlyStop: string | undefined;
  let onStop = (signal: string) => {
    earlyStop = signal;
    log.info({ signal }, "stop requested before the VM started");
  };
  const unsubscribe = stops.subscribe((signal) => onStop(signal));
  const cleanups: (() => Promise<void> | void)[] = [unsubscribe];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  const stoppedEarly = () => ({ code: EXIT.OK, message: `stopped by ${earlyStop} before the VM started` });
  // Start-path marks (`npm run bench -- start` reads them): milliseconds since this process started. Steps
  // with no log line of their own mark at debug level, so the normal log stays as it was.
  const mark = (level: "info" | "debug", phase: string, data: Record<string, unknown>, msg: string) =>
    log[level]({ phase, sinceStartMs: Math.round(performance.now()), ...data }, msg);
  mark("debug", "config", {}, "config loaded");
  // What the launcher serves once QEMU runs (console, metrics with prom-client, HTTP, control socket) is not
  // needed to start QEMU: load it while preparation and QEMU's own start wait on other processes, not before
  // the first step. Measured (npm run bench -- start, 10 runs each, load ~8 on 2 cores): config parsed p50
  // 310 → 212 ms, QEMU's first QMP answer 466 → 435 ms, guest running 496 → 448 ms.
  const serving = loadServing();
  serving.catch(() => {}); // awaited once QEMU runs; a failure then is reported there

  try {
    // --- preflight
    // What the config and environment decide alone is decided now, before anything is touched. The KVM probe
    // (a short-lived paused QEMU asked over QMP, ~0.1 s) needs nothing that preparation makes, so it runs
    // while disks and network are made ready (measured with KVM: first QMP answer p50 371-376 -> 320-340 ms); if it
    // then refuses the VM, that is reported as a preflight failure even when preparation failed too.
    let decided: AcceleratorChoice | undefined;
    let probing: Promise<AcceleratorChoice> | undefined;
    try {
      const override = acceleratorOverride(env[ACCEL_ENV]);
      if (override === "tcg")
        decided = chooseAccelerator(undefined, config.accelerator.allowEmulation, override);
      else {
        probing = (async () => {
          const probe = await (deps.probe ?? probeKvm)();
          log.info({ probe }, "KVM probe");
          return chooseAccelerator(probe, config.accelerator.allowEmulation, override);
        })();
        probing.catch(() => {}); // awaited below
      }
    } catch (err) {
      return { code: EXIT.PREFLIGHT, message: `preflight: ${(err as Error).message}` };
    }

    // --- preparation
    let disks: PreparedDisk[] = [];
    let nics: PreparedNic[] = [];
    let services: RunningService[] = [];
    let prepareError: (Error & { code?: string }) | undefined;
    try {
      await makeDirectories(config);
      disks = await preparation.disks(config, log);
      mark("debug", "disks", { disks: disks.length }, "disks ready");
      const net = await preparation.network(config, log);
      mark("debug", "network", { nics: net.nics.length }, "network ready");
      nics = net.nics;
      services = net.services;
      cleanups.push(() => Promise.all(services.map((s) => s.stop())).then(() => {}));
      await prepareUefiVars(config, files, firmware);
    } catch (err) {
      prepareError = err as Error & { code?: string };
    }

    let accel: AcceleratorChoice;
    try {
      accel = decided ?? (await probing!);
    } catch (err) {
      return { code: EXIT.PREFLIGHT, message: `preflight: ${(err as Error).message}` };
    }
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
    if (prepareError)
      return {
        code: EXIT.PREPARE,
        message: `preparation failed${prepareError.code ? ` (${prepareError.code})` : ""}: ${prepareError.message}`,
      };
    if (earlyStop) return stoppedEarly();

    let argv: string[];
    try {
      argv = buildQemuArgs(config, {
        accel: accel.accel,
        hostCpuQuirks: accel.hostCpuQuirks,
        disks,
        nics,
        files,
        firmware,
      });
    } catch (err) {
      return { code: EXIT.CONFIG, message: `invalid VM: ${(err as Error).message}` };
    }

    // --- QEMU
    let qemu: QemuProcess;
    try {
      qemu = await spawnQemu(argv, {
        onStderrLine: (line) => guestDriven.log("warn", "qemu-stderr", { stderr: line }, "qemu stderr"),
      });
    } catch (err) {
      return { code: EXIT.QEMU_DIED, message: (err as Error).message };
    }
    mark("info", "qemu-spawned", { pid: qemu.pid, argv: qemu.argv }, "QEMU started");
    cleanups.push(async () => {
      if (qemu.exit) return;
      qemu.kill("SIGKILL");
      await qemu.exited;
    });

    let qmp: QmpClient;
    try {
      qmp = await Promise.race([
        QmpClient.connect(files.qmpSocket, { connectTimeoutMs: 60_000 }),
        qemu.exited.then((exit) => {
          throw new Error(`QEMU exited before QMP answered (${exit.signal ?? `exit code ${exit.code}`})`);
        }),
      ]);
    } catch (err) {
      await Promise.race([qemu.exited, new Promise((r) => setTimeout(r, 2000))]);
      const stderr = qemu.stderrTail().slice(-8).join("\n");
      return { code: EXIT.QEMU_DIED, message: `${(err as Error).message}${stderr ? `: ${stderr}` : ""}` };
    }
    cleanups.push(() => qmp.close());
    const firstQmpAnswerMs = Math.round(performance.now());
    const v = qmp.greeting.version.qemu;
    log.info(
      {
        phase: "qmp",
        sinceStartMs: firstQmpAnswerMs,
        firstQmpAnswerMs,
        qemu: `${v.major}.${v.minor}.${v.micro}`,
      },
      "QMP connected",
    );

    // --- the reducer and its effects
    let status: VmStatus = initialStatus();
    const ready = readyMarker(readyFilePath(config.paths.runDir), log);
    const timers = new Set<NodeJS.Timeout>();
    cleanups.push(() => timers.forEach(clearTimeout));
    const dispatch = (input: Input) => {
      const r = reduce(status, input);
      status = r.status;
      ready.update(isReady(status));
      r.actions.forEach(perform);
    };
    const perform = (a: Action) => {
      switch (a.type) {
        case "qmp":
          qmp
            .execute(a.command)
            .catch((err: Error) => log.warn({ err: err.message, command: a.command }, "QMP command failed"));
          break;
        case "arm-deadline":
        case "arm-kill": {
          const t = setTimeout(() => {
            timers.delete(t);
            dispatch(
              a.type === "arm-deadline" ? { type: "deadline", nowMs: Date.now() } : { type: "kill-deadline" },
            );
          }, a.inMs);
          timers.add(t);
          break;
        }
        case "kill":
          qemu.kill("SIGKILL");
          break;
        case "log":
          log[a.level](a.data ?? {}, a.msg);
          break;
      }
    };
    dispatch({ type: "qemu-started", pid: qemu.pid, qemuVersion: `${v.major}.${v.minor}.${v.micro}`, accel });
    qmp.onEvent((event) => {
      // Events the guest can raise at will (RTC_CHANGE, GUEST_PANICKED, …) share a per-event-name budget;
      // names come from QEMU's fixed set, so the guest cannot mint new buckets (and there are at most 64).
      guestDriven.log(
        "info",
        `qmp-${event.event}`,
        { event: event.event, data: event.data },
        `QMP event ${event.event}`,
      );
      dispatch({ type: "event", event });
    });
    let stopCount = 0;
    onStop = (signal) => {
      stopCount++;
      log.info({ signal, count: stopCount }, "stop requested");
      dispatch({
        type: "stop-requested",
        nowMs: Date.now(),
        graceMs: stopGraceMs(config.terminationGracePeriodSeconds),
        force: stopCount > 1,
      });
    };

    const handleControl = async ({ command }: ControlRequest): Promise<unknown> => {
      switch (command) {
        case "status":
          return status;
        case "logs":
          return { console: hub?.recent().toString("utf8") ?? "" };
        case "pause":
          if (status.phase !== "running")
            throw Object.assign(new Error(`cannot pause: the VM is ${status.phase}`), {
              code: "NOT_RUNNING",
            });
          dispatch({ type: "pause-requested" });
          await qmp.execute("stop");
          return status;
        case "unpause":
          if (status.phase !== "paused")
            throw Object.assign(new Error(`cannot unpause: the VM is ${status.phase}`), {
              code: "NOT_PAUSED",
            });
          if (status.pausedReason === "panic")
            throw Object.assign(new Error("cannot unpause a panicked guest"), { code: "PANICKED" });
          await qmp.execute("cont");
          return status;
      }
    };

    let hub: ConsoleHub | undefined;
    let http: HealthServer | undefined;
    let control: ControlServer | undefined;
    try {
      const { ConsoleHub, createRegistry, registerCollectors, startHealthServer, startControlServer } =
        await serving;
      if (config.devices.serialConsole) {
        hub = await ConsoleHub.start({
          serialSocket: files.serialSocket,
          consoleSocket: files.consoleSocket,
        });
        cleanups.push(() => hub?.close());
      }
      const registry = createRegistry();
      registerCollectors(
        registry,
        {
          config,
          accelerator: () => accel.accel,
          disks: () => disks,
          nics: () => nics,
          qemuPid: () => (qemu.exit ? undefined : qemu.pid),
          qmp: () => (qmp.closed ? undefined : qmp),
        },
        {
          onError: (source, err) => log.debug({ source, err: String(err) }, "metrics collection failed"),
          extra: deps.collectors ?? [],
        },
      );
      http = await startHealthServer(
        { status: () => status, registry },
        deps.http?.port ?? config.http.port,
        deps.http?.host,
      );
      cleanups.push(() => http?.close());
      control = await startControlServer(files.controlSocket, (req) => handleControl(req));
      cleanups.push(() => control?.close());
    } catch (err) {
      if (qemu.exit) {
        dispatch({ type: "qemu-exited", exit: qemu.exit, stderrTail: qemu.stderrTail() });
        return finalResult(status);
      }
      return { code: EXIT.INTERNAL, message: `launcher setup failed: ${(err as Error).message}` };
    }

    // Everything is attached: let the guest run (or, if a stop came meanwhile, quit right away).
    if (earlyStop) onStop(earlyStop);
    else {
      try {
        await qmp.execute("cont");
        dispatch({ type: "running" });
        mark("info", "running", { pid: qemu.pid, httpPort: http.port }, "guest running");
        deps.onRunning?.({ qemuPid: qemu.pid, httpPort: http.port, firstQmpAnswerMs, accel });
      } catch (err) {
        log.error({ err: (err as Error).message }, "cont failed");
      }
    }

    const exit = await qemu.exited;
    dispatch({ type: "qemu-exited", exit, stderrTail: qemu.stderrTail() });
    return finalResult(status);
  } finally {
    await cleanup();
  }
}
