/**
 * The supervisor's decisions as a pure reducer: QMP events, stop requests, deadlines and QEMU's exit go in;
 * a new status and the actions to take come out. The shell (run.ts, vm-driver.ts) only carries actions out,
 * so every shutdown path — and every QMP command the launcher sends, pause and resume included — is decided
 * and unit-tested here.
 */
import type { AcceleratorChoice } from "../preflight/accel.ts";
import { CONTROL_ERRORS } from "../../crds/contract/index.ts";
import type { QmpEvent } from "../qemu/qmp-client.ts";
import type { QemuExit } from "../qemu/process.ts";

/** Where the VM is in its life. */
export type Phase = "starting" | "running" | "paused" | "stopping" | "exited";

/** How the VM ended. */
export type Outcome =
  | { kind: "poweroff" } // the guest powered itself off
  | { kind: "powerdown"; afterMs: number } // stop requested: the guest obeyed the ACPI power button
  | { kind: "quit"; afterMs: number; killed: boolean } // stop requested: the guest did not, QEMU was stopped
  | { kind: "panic"; info: string } // GUEST_PANICKED
  | { kind: "watchdog"; action: "poweroff" | "shutdown" } // the guest stopped petting its watchdog
  | { kind: "crash"; reason: string } // QEMU died on its own
  | { kind: "migrated"; summary: MigratedSummary }; // live-migrated away: the guest runs in the target pod

/** QEMU's last figures of a completed outgoing migration (kept in the termination message). */
export interface MigratedSummary {
  downtimeMs?: number | undefined;
  transferredBytes?: number | undefined;
  totalTimeMs?: number | undefined;
}

/** A block I/O error QEMU reported. */
export interface IoError {
  device: string;
  operation: string;
  action: string;
  reason: string;
  nospace: boolean;
  timestampMs: number;
}

/** What the launcher knows about its VM; served on /status and the control socket. */
export interface LauncherStatus {
  phase: Phase;
  accel?: AcceleratorChoice;
  qemuPid?: number;
  qemuVersion?: string;
  /** Why the guest is paused: `user` (pause command), `io-error`, `panic` or `qemu`. */
  pausedReason?: string;
  resets: number;
  /** The guest's watchdog fired (QMP WATCHDOG events): how often, the last action and when. */
  watchdog?: { fired: number; lastAction: string; lastAtMs: number; shutdownPending?: boolean };
  ioErrors: IoError[];
  /** The most recent QMP events, oldest first. */
  events: { event: string; timestampMs: number; data: Record<string, unknown> }[];
  stop?: {
    requestedAtMs: number;
    deadlineAtMs: number;
    method: "powerdown" | "quit";
    quitAtMs?: number;
    /** When the guest agent was asked to power the guest off (it had ignored the ACPI power button). */
    agentShutdownAtMs?: number;
  };
  outcome?: Outcome;
}

/** Something that happened. */
export type Input =
  | { type: "qemu-started"; pid: number; qemuVersion: string; accel: AcceleratorChoice }
  /** Console, HTTP and control socket are attached: the paused QEMU may let the guest run. */
  | { type: "attached"; incoming?: boolean }
  /** Target of a migration: the incoming stream completed (QEMU activated the disks); resume the guest. */
  | { type: "migrated-in" }
  /** Source of a migration: it completed, the guest runs on the target; quit QEMU. */
  | { type: "migrated-out"; summary: MigratedSummary }
  | { type: "running" }
  /** `vireo-launcher pause` (control socket): stop the vCPUs of a running guest. */
  | { type: "pause-requested" }
  /** `vireo-launcher unpause`: resume a guest the user (or an I/O error) paused. */
  | { type: "unpause-requested" }
  | { type: "event"; event: QmpEvent }
  | { type: "stop-requested"; nowMs: number; graceMs: number; force?: boolean }
  | { type: "deadline"; nowMs: number }
  /** Half the grace period after the power button; whether the guest agent answers now. */
  | { type: "acpi-deadline"; nowMs: number; agentConnected: boolean }
  | { type: "kill-deadline" }
  | { type: "qemu-exited"; exit: QemuExit; stderrTail: string[] };

/** Something the shell must do. */
export type Action =
  | { type: "qmp"; command: "system_powerdown" | "cont" | "quit" | "stop" }
  | { type: "arm-deadline"; inMs: number }
  | { type: "arm-acpi-deadline"; inMs: number }
  /** Ask the guest agent for `guest-shutdown` (powerdown). */
  | { type: "agent-shutdown" }
  | { type: "arm-kill"; inMs: number }
  | { type: "kill" }
  | { type: "log"; level: "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };

const KEEP_EVENTS = 32;
const KEEP_IO_ERRORS = 16;
/** After `quit`, QEMU gets this long to exit before SIGKILL. */
export const QUIT_TIMEOUT_MS = 10_000;

/**
 * How long the guest gets after the ACPI power button: the grace period less a margin (20 %, at most 5 s),
 * so QEMU's quit and the launcher's exit finish before the kubelet's SIGKILL.
 */
export function stopGraceMs(graceSeconds: number): number {
  const ms = graceSeconds * 1000;
  return Math.max(0, ms - Math.min(5000, ms * 0.2));
}

/** The status before QEMU starts. */
export function initialStatus(): LauncherStatus {
  return { phase: "starting", resets: 0, ioErrors: [], events: [] };
}

const str = (v: unknown, fallback = "") => (typeof v === "string" ? v : fallback);

const refuse = (status: LauncherStatus, code: string, message: string) => ({
  status,
  actions: [],
  refusal: { code, message },
});

/** A request the reducer turned down, with a stable code for the control socket's reply. */
export interface Refusal {
  code: string;
  message: string;
}

/**
 * Applies one input; returns the new status (the old one is not modified), the actions to take, and for a
 * request it turns down, why.
 */
export function reduce(
  prev: LauncherStatus,
  input: Input,
): { status: LauncherStatus; actions: Action[]; refusal?: Refusal } {
  const s: LauncherStatus = { ...prev, events: [...prev.events], ioErrors: [...prev.ioErrors] };
  const actions: Action[] = [];
  const log = (level: "info" | "warn" | "error", msg: string, data?: Record<string, unknown>) =>
    actions.push({ type: "log", level, msg, ...(data ? { data } : {}) });
  const settle = (outcome: Outcome) => {
    s.outcome ??= outcome;
  };

  switch (input.type) {
    case "qemu-started":
      s.qemuPid = input.pid;
      s.qemuVersion = input.qemuVersion;
      s.accel = input.accel;
      break;
    case "attached":
      // QEMU starts with -S; the guest runs once everything that serves it is there. Not after a stop.
      // A migration target stays paused: its guest state comes from the source (migrated-in resumes it).
      if (input.incoming) log("info", "waiting for the incoming migration");
      else if (s.phase === "starting" && !s.stop && !s.outcome)
        actions.push({ type: "qmp", command: "cont" });
      break;
    case "migrated-in":
      if (s.phase === "starting" && !s.stop && !s.outcome) actions.push({ type: "qmp", command: "cont" });
      break;
    case "migrated-out":
      if (s.phase === "exited") break;
      settle({ kind: "migrated", summary: input.summary });
      s.phase = "stopping";
      log("info", "migrated: the guest runs in the target pod; quitting QEMU");
      actions.push({ type: "qmp", command: "quit" }, { type: "arm-kill", inMs: QUIT_TIMEOUT_MS });
      break;
    case "running":
      if (s.phase === "starting") s.phase = "running";
      break;
    case "pause-requested":
      if (s.phase !== "running")
        return refuse(prev, CONTROL_ERRORS.NOT_RUNNING, `cannot pause: the VM is ${s.phase}`);
      s.pausedReason = "user";
      actions.push({ type: "qmp", command: "stop" });
      break;
    case "unpause-requested":
      if (s.phase !== "paused")
        return refuse(prev, CONTROL_ERRORS.NOT_PAUSED, `cannot unpause: the VM is ${s.phase}`);
      if (s.pausedReason === "panic")
        return refuse(prev, CONTROL_ERRORS.PANICKED, "cannot unpause a panicked guest");
      actions.push({ type: "qmp", command: "cont" });
      break;
    case "event":
      onEvent(s, input.event, actions, log, settle);
      break;
    case "stop-requested":
      onStopRequested(s, prev, input, actions, log);
      break;
    case "deadline":
      if (s.phase === "exited" || s.outcome || !s.stop || s.stop.method === "quit") break;
      s.stop = { ...s.stop, method: "quit", quitAtMs: input.nowMs };
      log("warn", "the guest did not power off within the grace period: quitting QEMU", {
        graceMs: s.stop.deadlineAtMs - s.stop.requestedAtMs,
      });
      actions.push({ type: "qmp", command: "quit" }, { type: "arm-kill", inMs: QUIT_TIMEOUT_MS });
      break;
    case "acpi-deadline":
      onAcpiDeadline(s, input, actions, log);
      break;
    case "kill-deadline":
      if (s.phase === "exited") break;
      log("error", "QEMU did not exit after quit: killing it");
      actions.push({ type: "kill" });
      break;
    case "qemu-exited":
      onQemuExited(s, input, settle);
      break;
  }
  return { status: s, actions };
}

type Log = (level: "info" | "warn" | "error", msg: string, data?: Record<string, unknown>) => void;

/** A stop: the ACPI power button with a deadline, or quit at once (no grace, guest not yet run, forced). */
function onStopRequested(
  s: LauncherStatus,
  prev: LauncherStatus,
  input: Extract<Input, { type: "stop-requested" }>,
  actions: Action[],
  log: Log,
): void {
  if (s.phase === "exited" || s.outcome) return;
  if (s.stop) {
    if (input.force && s.stop.method !== "quit") {
      s.stop = { ...s.stop, method: "quit", quitAtMs: input.nowMs };
      log("warn", "second stop request: quitting QEMU now");
      actions.push({ type: "qmp", command: "quit" }, { type: "arm-kill", inMs: QUIT_TIMEOUT_MS });
    } else log("info", "stop already in progress", { method: s.stop.method });
    return;
  }
  const graceMs = Math.max(0, input.graceMs);
  s.stop = { requestedAtMs: input.nowMs, deadlineAtMs: input.nowMs + graceMs, method: "powerdown" };
  if (graceMs === 0 || s.phase === "starting") {
    s.stop.method = "quit";
    s.stop.quitAtMs = input.nowMs;
    log(
      "info",
      s.phase === "starting" ? "stop before the guest ran: quitting QEMU" : "no grace period: quitting QEMU",
    );
    actions.push({ type: "qmp", command: "quit" }, { type: "arm-kill", inMs: QUIT_TIMEOUT_MS });
    return;
  }
  s.phase = "stopping";
  // A paused guest cannot see the power button.
  if (prev.phase === "paused") {
    log("info", "resuming the paused guest so it can power off");
    actions.push({ type: "qmp", command: "cont" });
  }
  log("info", "pressing the ACPI power button", { graceMs });
  actions.push(
    { type: "qmp", command: "system_powerdown" },
    { type: "arm-deadline", inMs: graceMs },
    { type: "arm-acpi-deadline", inMs: Math.floor(graceMs / 2) },
  );
}

/**
 * Half the grace period has passed since the power button and the guest still runs: it ignores ACPI (no
 * acpid, logind told to ignore the key, a guest that never loaded the button driver). If its agent answers,
 * ask the agent to power off; the full deadline still quits QEMU if that fails too.
 */
function onAcpiDeadline(
  s: LauncherStatus,
  input: Extract<Input, { type: "acpi-deadline" }>,
  actions: Action[],
  log: Log,
): void {
  if (s.phase === "exited" || s.outcome || s.stop?.method !== "powerdown" || s.stop.agentShutdownAtMs) return;
  if (!input.agentConnected) {
    log("info", "the guest ignores the ACPI power button and has no guest agent: waiting for the deadline");
    return;
  }
  s.stop = { ...s.stop, agentShutdownAtMs: input.nowMs };
  log("info", "the guest ignores the ACPI power button: asking its guest agent to power off");
  actions.push({ type: "agent-shutdown" });
}

/** QEMU is gone: a quit we asked for, else a crash (unless an outcome was settled before). */
function onQemuExited(
  s: LauncherStatus,
  input: Extract<Input, { type: "qemu-exited" }>,
  settle: (outcome: Outcome) => void,
): void {
  s.phase = "exited";
  if (s.stop?.method === "quit" && !s.outcome) {
    settle({
      kind: "quit",
      afterMs: (s.stop.quitAtMs ?? s.stop.deadlineAtMs) - s.stop.requestedAtMs,
      killed: input.exit.signal === "SIGKILL",
    });
  }
  const how = input.exit.signal ? `signal ${input.exit.signal}` : `exit code ${input.exit.code}`;
  const stderr = input.stderrTail.slice(-8).join("\n");
  settle({ kind: "crash", reason: `QEMU exited unexpectedly (${how})${stderr ? `: ${stderr}` : ""}` });
}

function onEvent(
  s: LauncherStatus,
  e: QmpEvent,
  actions: Action[],
  log: (level: "info" | "warn" | "error", msg: string, data?: Record<string, unknown>) => void,
  settle: (o: Outcome) => void,
): void {
  s.events.push({ event: e.event, timestampMs: e.timestampMs, data: e.data });
  if (s.events.length > KEEP_EVENTS) s.events.shift();
  switch (e.event) {
    case "STOP":
      if (s.phase === "running") s.phase = "paused";
      s.pausedReason ??= "qemu";
      break;
    case "RESUME":
      if (s.phase === "paused") s.phase = "running";
      delete s.pausedReason;
      break;
    case "RESET":
      s.resets++;
      // A reboot ends the power button's wait: a later power-off is the guest's own, not the watchdog's.
      if (s.watchdog?.shutdownPending) {
        const { shutdownPending: _done, ...rest } = s.watchdog;
        s.watchdog = rest;
      }
      log("info", "guest reset", { reason: str(e.data.reason) });
      break;
    case "SHUTDOWN":
      if (e.data.guest === true) {
        // The guest obeyed the power button the watchdog pressed: the watchdog ended the run.
        if (s.watchdog?.shutdownPending && !s.stop) settle({ kind: "watchdog", action: "shutdown" });
        if (s.stop) settle({ kind: "powerdown", afterMs: e.timestampMs - s.stop.requestedAtMs });
        else settle({ kind: "poweroff" });
        log("info", "guest powered off", { reason: str(e.data.reason) });
      }
      if (s.phase !== "exited") s.phase = "stopping";
      break;
    case "GUEST_PANICKED": {
      const info = JSON.stringify(e.data.info ?? {});
      settle({ kind: "panic", info });
      s.pausedReason = "panic";
      log("error", "guest panicked: stopping QEMU", { info: e.data.info, action: e.data.action });
      actions.push({ type: "qmp", command: "quit" }, { type: "arm-kill", inMs: QUIT_TIMEOUT_MS });
      break;
    }
    case "WATCHDOG":
      onWatchdog(s, e, log, settle);
      break;
    case "BLOCK_IO_ERROR": {
      const err: IoError = {
        device: str(e.data.device) || str(e.data["node-name"]),
        operation: str(e.data.operation),
        action: str(e.data.action),
        reason: str(e.data.reason),
        nospace: e.data.nospace === true,
        timestampMs: e.timestampMs,
      };
      s.ioErrors.push(err);
      if (s.ioErrors.length > KEEP_IO_ERRORS) s.ioErrors.shift();
      if (err.action === "stop") s.pausedReason = "io-error";
      log("error", "block I/O error", { ...err });
      break;
    }
  }
}

/**
 * The watchdog fired (QEMU acts by itself: `-action watchdog=…`). poweroff: QEMU ends at once (7.2 exits
 * without a SHUTDOWN event), so the run's outcome is the watchdog's. shutdown: QEMU pressed the power button;
 * the outcome is the watchdog's only if the guest then powers off (a guest ignoring ACPI keeps running).
 * reset: the guest reboots in place; counted, and the RESET event that follows counts the reset.
 */
function onWatchdog(s: LauncherStatus, e: QmpEvent, log: Log, settle: (o: Outcome) => void): void {
  const action = str(e.data.action, "unknown");
  const prev = s.watchdog;
  s.watchdog = {
    fired: (prev?.fired ?? 0) + 1,
    lastAction: action,
    lastAtMs: e.timestampMs,
    ...(action === "shutdown" || prev?.shutdownPending ? { shutdownPending: true } : {}),
  };
  log("error", "the guest's watchdog fired", { action });
  if (action === "poweroff") settle({ kind: "watchdog", action: "poweroff" });
}
