/**
 * The reducer's shell: feeds QMP events, stop and control requests and timers into `reduce` (state.ts) and
 * carries out the actions it returns — QMP commands, timers, SIGKILL, log lines, the ready file. It decides
 * nothing itself: a pause is a `pause-requested` input, and whether it becomes QMP `stop` is the reducer's call.
 */
import type { ControlCommand } from "../../crds/contract/index.ts";
import { systemClock, type Clock, type TimerHandle } from "../../lib/clock.ts";
import { isReady } from "../http/server.ts";
import type { QemuProcess } from "../qemu/process.ts";
import type { QmpClient } from "../qemu/qmp-client.ts";
import type { Logger } from "./logger.ts";
import { initialStatus, reduce, stopGraceMs, type Action, type Input, type LauncherStatus } from "./state.ts";

/** What the driver acts on. */
export interface DriverDeps {
  qemu: Pick<QemuProcess, "kill">;
  qmp: Pick<QmpClient, "execute">;
  log: Logger;
  /** Mirrors readiness into the ready file (launcher/http/ready-marker.ts). */
  ready: { update(ready: boolean): void };
  /** The guest's grace period for an ACPI power-off, from the config. */
  terminationGracePeriodSeconds: number;
  /** Time and timers (tests: a fake clock); default the system clock. */
  clock?: Clock;
}

/** A control request the reducer turned down; `code` goes into the control socket's reply. */
export class ControlRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ControlRefused";
  }
}

/** The guest agent as the driver needs it: whether it answers, and its power-off. */
export interface DriverAgent {
  report(): { connected: boolean };
  shutdown(mode: "powerdown"): Promise<void>;
}

/** Runs the reducer against one QEMU. */
export class VmDriver {
  #status: LauncherStatus = initialStatus();
  #agent: DriverAgent | undefined;
  #timers = new Set<TimerHandle>();
  #stops = 0;
  readonly #deps: DriverDeps;
  readonly #clock: Clock;

  constructor(deps: DriverDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  /** The launcher's live status (served on /status and the control socket). */
  get status(): LauncherStatus {
    return this.#status;
  }

  /** Applies one input and carries out its actions; resolves the QMP commands it sent (control replies wait). */
  dispatch(input: Input): { refusal?: { code: string; message: string }; sent: Promise<unknown>[] } {
    const r = reduce(this.#status, input);
    this.#status = r.status;
    this.#deps.ready.update(isReady(this.#status));
    const sent = r.actions.flatMap((a) => this.#perform(a));
    return { ...(r.refusal ? { refusal: r.refusal } : {}), sent };
  }

  /** A stop request (SIGTERM, Ctrl-C); a second one quits QEMU at once. */
  stop(signal: string): void {
    this.#stops++;
    this.#deps.log.info({ signal, count: this.#stops }, "stop requested");
    this.dispatch({
      type: "stop-requested",
      nowMs: this.#clock.now(),
      graceMs: stopGraceMs(this.#deps.terminationGracePeriodSeconds),
      force: this.#stops > 1,
    });
  }

  /** A pause or unpause from the control socket: refused by the reducer, or sent and answered by QEMU. */
  async control(command: Extract<ControlCommand, "pause" | "unpause">): Promise<LauncherStatus> {
    const { refusal, sent } = this.dispatch({
      type: command === "pause" ? "pause-requested" : "unpause-requested",
    });
    if (refusal) throw new ControlRefused(refusal.code, refusal.message);
    await Promise.all(sent);
    return this.#status;
  }

  /** The guest agent, once serving has started it (used when the guest ignores ACPI). */
  useAgent(agent: DriverAgent): void {
    this.#agent = agent;
  }

  /** Cancels pending deadlines (the run is over). */
  close(): void {
    this.#timers.forEach((t) => t.cancel());
    this.#timers.clear();
  }

  #perform(a: Action): Promise<unknown>[] {
    const { log } = this.#deps;
    switch (a.type) {
      case "qmp": {
        const sent = this.#deps.qmp.execute(a.command);
        sent.catch((err: Error) => log.warn({ err: err.message, command: a.command }, "QMP command failed"));
        return [sent];
      }
      case "arm-deadline":
      case "arm-acpi-deadline":
      case "arm-kill": {
        const t = this.#clock.setTimer(() => {
          this.#timers.delete(t);
          this.dispatch(this.#timerInput(a.type));
        }, a.inMs);
        this.#timers.add(t);
        return [];
      }
      case "kill":
        this.#deps.qemu.kill("SIGKILL");
        return [];
      case "agent-shutdown": {
        const sent = this.#agent?.shutdown("powerdown") ?? Promise.resolve();
        sent.catch((err: Error) => log.warn({ err: err.message }, "guest agent shutdown failed"));
        return [];
      }
      case "log":
        log[a.level](a.data ?? {}, a.msg);
        return [];
    }
  }

  #timerInput(kind: "arm-deadline" | "arm-acpi-deadline" | "arm-kill"): Input {
    const nowMs = this.#clock.now();
    if (kind === "arm-deadline") return { type: "deadline", nowMs };
    if (kind === "arm-kill") return { type: "kill-deadline" };
    return { type: "acpi-deadline", nowMs, agentConnected: this.#agent?.report().connected ?? false };
  }
}
