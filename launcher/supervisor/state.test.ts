import { describe, expect, it } from "vitest";
import { EXIT } from "../../crds/contract/index.ts";
import { finalResult } from "./outcome.ts";
import { initialStatus, reduce, stopGraceMs, type Action, type Input, type LauncherStatus } from "./state.ts";

const ev = (event: string, data: Record<string, unknown> = {}, timestampMs = 0): Input => ({
  type: "event",
  event: { event, data, timestampMs },
});
const accel = { accel: "tcg" as const, hostCpuQuirks: [], reason: "test" };

/** Runs inputs in order from a started, running VM; returns the final status and every action. */
function run(...inputs: Input[]): { status: LauncherStatus; actions: Action[] } {
  let status = initialStatus();
  const actions: Action[] = [];
  for (const input of [
    { type: "qemu-started", pid: 42, qemuVersion: "7.2.22", accel } as Input,
    { type: "running" } as Input,
    ...inputs,
  ]) {
    const r = reduce(status, input);
    status = r.status;
    actions.push(...r.actions);
  }
  return { status, actions };
}
const qmp = (actions: Action[]) => actions.flatMap((a) => (a.type === "qmp" ? [a.command] : []));
const exited = (
  code: number | null,
  signal: NodeJS.Signals | null = null,
  stderrTail: string[] = [],
): Input => ({
  type: "qemu-exited",
  exit: { code, signal },
  stderrTail,
});

describe("supervisor state", () => {
  it("a guest that powers itself off ends the launcher with 0", () => {
    const { status } = run(ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }), exited(0));
    expect(status.phase).toBe("exited");
    expect(finalResult(status)).toEqual({ code: EXIT.OK, message: "poweroff: the guest powered off" });
  });

  it("stop request: ACPI power button, and the guest obeys within the grace period", () => {
    const { status, actions } = run(
      { type: "stop-requested", nowMs: 1000, graceMs: 30_000 },
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }, 4000),
      exited(0),
      { type: "deadline", nowMs: 31_000 }, // a late timer must change nothing
    );
    expect(qmp(actions)).toEqual(["system_powerdown"]);
    expect(actions).toContainEqual({ type: "arm-deadline", inMs: 30_000 });
    expect(finalResult(status)).toEqual({
      code: EXIT.OK,
      message: "powerdown: the guest powered off 3.0 s after the ACPI power button",
    });
  });

  it("stop request: a guest that ignores ACPI is quit at the deadline, and killed if QEMU hangs", () => {
    const { status, actions } = run(
      { type: "stop-requested", nowMs: 0, graceMs: 5000 },
      { type: "deadline", nowMs: 5000 },
      ev("SHUTDOWN", { guest: false, reason: "host-qmp-quit" }),
      { type: "kill-deadline" },
      exited(null, "SIGKILL"),
    );
    expect(qmp(actions)).toEqual(["system_powerdown", "quit"]);
    expect(actions.map((a) => a.type)).toContain("kill");
    expect(finalResult(status)).toEqual({
      code: EXIT.OK,
      message: "quit: the guest did not power off within 5.0 s of the stop request; QEMU was killed",
    });
  });

  it("a guest that ignores ACPI gets a guest-agent power-off at half the grace period when its agent answers", () => {
    const { status, actions } = run(
      { type: "stop-requested", nowMs: 0, graceMs: 20_000 },
      { type: "acpi-deadline", nowMs: 10_000, agentConnected: true },
      { type: "acpi-deadline", nowMs: 10_001, agentConnected: true }, // once only
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }, 12_000),
      exited(0),
    );
    expect(actions).toContainEqual({ type: "arm-acpi-deadline", inMs: 10_000 });
    expect(actions.filter((a) => a.type === "agent-shutdown")).toHaveLength(1);
    expect(qmp(actions)).toEqual(["system_powerdown"]);
    expect(status.stop?.agentShutdownAtMs).toBe(10_000);
    expect(finalResult(status).code).toBe(EXIT.OK);
  });

  it("no agent-shutdown without an answering agent, nor after the guest powered off", () => {
    const without = run(
      { type: "stop-requested", nowMs: 0, graceMs: 20_000 },
      { type: "acpi-deadline", nowMs: 10_000, agentConnected: false },
    );
    expect(without.actions.map((a) => a.type)).not.toContain("agent-shutdown");
    const obeyed = run(
      { type: "stop-requested", nowMs: 0, graceMs: 20_000 },
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }, 3000),
      { type: "acpi-deadline", nowMs: 10_000, agentConnected: true },
    );
    expect(obeyed.actions.map((a) => a.type)).not.toContain("agent-shutdown");
  });

  it("a paused guest is resumed before the power button, and a second request quits at once", () => {
    const { status, actions } = run(
      ev("STOP"),
      { type: "stop-requested", nowMs: 0, graceMs: 60_000 },
      { type: "stop-requested", nowMs: 1500, graceMs: 60_000, force: true },
      exited(0),
    );
    expect(qmp(actions)).toEqual(["cont", "system_powerdown", "quit"]);
    expect(finalResult(status).message).toMatch(/within 1.5 s .* QEMU was quit/);
  });

  it("no grace period means quit without the power button", () => {
    const { actions } = run({ type: "stop-requested", nowMs: 0, graceMs: 0 });
    expect(qmp(actions)).toEqual(["quit"]);
  });

  it("a guest panic quits QEMU and fails with its own exit code", () => {
    const { status, actions } = run(
      ev("GUEST_PANICKED", { action: "pause", info: { type: "hyper-v" } }),
      ev("STOP"),
      ev("SHUTDOWN", { guest: false, reason: "host-qmp-quit" }),
      exited(0),
    );
    expect(qmp(actions)).toEqual(["quit"]);
    expect(status.pausedReason).toBe("panic");
    expect(finalResult(status)).toMatchObject({ code: EXIT.GUEST_PANICKED, message: /^guest panicked/ });
  });

  it("QEMU dying on its own fails with the signal and its last stderr lines", () => {
    const { status } = run(exited(null, "SIGKILL", ["qemu: something", "qemu: went wrong"]));
    expect(finalResult(status)).toEqual({
      code: EXIT.QEMU_DIED,
      message: "QEMU exited unexpectedly (signal SIGKILL): qemu: something\nqemu: went wrong",
    });
  });

  it("tracks pause and resume, resets, and block I/O errors", () => {
    const { status } = run(
      { type: "pause-requested" },
      ev("STOP"),
      ev("RESET", { guest: true, reason: "guest-reset" }),
    );
    expect(status).toMatchObject({ phase: "paused", pausedReason: "user", resets: 1 });
    const resumed = reduce(status, ev("RESUME")).status;
    expect(resumed.phase).toBe("running");
    expect(resumed.pausedReason).toBeUndefined();
    const io = reduce(
      resumed,
      ev("BLOCK_IO_ERROR", {
        device: "",
        "node-name": "drive0",
        operation: "write",
        action: "stop",
        nospace: true,
        reason: "No space left on device",
      }),
    );
    expect(io.status.ioErrors).toEqual([
      {
        device: "drive0",
        operation: "write",
        action: "stop",
        reason: "No space left on device",
        nospace: true,
        timestampMs: 0,
      },
    ]);
    expect(io.status.pausedReason).toBe("io-error");
    expect(io.actions).toContainEqual(
      expect.objectContaining({ type: "log", level: "error", msg: "block I/O error" }),
    );
  });

  it("keeps a bounded event history and never mutates the previous status", () => {
    const before = run().status;
    const frozen = JSON.stringify(before);
    let s = before;
    for (let i = 0; i < 100; i++) s = reduce(s, ev("RESET")).status;
    expect(s.events).toHaveLength(32);
    expect(JSON.stringify(before)).toBe(frozen);
  });

  it("leaves a margin before the kubelet's deadline", () => {
    expect(stopGraceMs(180)).toBe(175_000);
    expect(stopGraceMs(10)).toBe(8000);
    expect(stopGraceMs(0)).toBe(0);
  });
  it("decides pause and unpause: QMP stop and cont, or a refusal with the control socket's code", () => {
    const running = run().status;
    const paused = reduce(running, { type: "pause-requested" });
    expect(paused.refusal).toBeUndefined();
    expect(qmp(paused.actions)).toEqual(["stop"]);
    expect(paused.status.pausedReason).toBe("user");
    const stopped = reduce(paused.status, ev("STOP")).status;
    expect(reduce(stopped, { type: "pause-requested" })).toMatchObject({
      actions: [],
      refusal: { code: "NOT_RUNNING", message: "cannot pause: the VM is paused" },
    });
    expect(qmp(reduce(stopped, { type: "unpause-requested" }).actions)).toEqual(["cont"]);
    expect(reduce(running, { type: "unpause-requested" }).refusal).toEqual({
      code: "NOT_PAUSED",
      message: "cannot unpause: the VM is running",
    });
    const panicked = run(ev("STOP"), ev("GUEST_PANICKED", { action: "pause" })).status;
    expect(reduce(panicked, { type: "unpause-requested" }).refusal).toEqual({
      code: "PANICKED",
      message: "cannot unpause a panicked guest",
    });
    // A refusal leaves the status as it was.
    expect(reduce(stopped, { type: "pause-requested" }).status).toBe(stopped);
  });

  it("lets the guest run once attached (cont), but not after a stop came first", () => {
    const started = reduce(initialStatus(), {
      type: "qemu-started",
      pid: 1,
      qemuVersion: "7.2.0",
      accel,
    }).status;
    expect(qmp(reduce(started, { type: "attached" }).actions)).toEqual(["cont"]);
    const stopping = reduce(started, { type: "stop-requested", nowMs: 0, graceMs: 1000 }).status;
    expect(qmp(reduce(stopping, { type: "attached" }).actions)).toEqual([]);
  });
});
