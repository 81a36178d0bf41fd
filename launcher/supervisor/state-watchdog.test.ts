import { describe, expect, it } from "vitest";
import { EXIT } from "../../crds/contract/index.ts";
import { finalResult } from "./outcome.ts";
import { initialStatus, reduce, type Action, type Input, type LauncherStatus } from "./state.ts";

const ev = (event: string, data: Record<string, unknown> = {}, timestampMs = 0): Input => ({
  type: "event",
  event: { event, data, timestampMs },
});
const accel = { accel: "tcg" as const, hostCpuQuirks: [], reason: "test" };
const exited = (code: number | null): Input => ({
  type: "qemu-exited",
  exit: { code, signal: null },
  stderrTail: [],
});

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

describe("supervisor state: the guest's watchdog", () => {
  it("poweroff: QEMU 7.2 exits 0 without SHUTDOWN; the run ends as a watchdog failure, not a clean power-off", () => {
    const { status, actions } = run(ev("WATCHDOG", { action: "poweroff" }, 5000), exited(0));
    expect(status.watchdog).toEqual({ fired: 1, lastAction: "poweroff", lastAtMs: 5000 });
    expect(finalResult(status)).toEqual({
      code: EXIT.WATCHDOG,
      message: "watchdog: the guest stopped petting its watchdog; action poweroff",
    });
    expect(actions).toContainEqual({
      type: "log",
      level: "error",
      msg: "the guest's watchdog fired",
      data: { action: "poweroff" },
    });
  });

  it("poweroff followed by a SHUTDOWN (newer QEMU) still ends as the watchdog's", () => {
    const { status } = run(
      ev("WATCHDOG", { action: "poweroff" }),
      ev("SHUTDOWN", { guest: false, reason: "guest-panic" }),
      exited(0),
    );
    expect(finalResult(status).code).toBe(EXIT.WATCHDOG);
  });

  it("reset: the guest reboots in place; fired and resets are counted, the run goes on", () => {
    const { status } = run(
      ev("WATCHDOG", { action: "reset" }, 1000),
      ev("RESET", { guest: true, reason: "watchdog" }, 1001),
      ev("WATCHDOG", { action: "reset" }, 9000),
      ev("RESET", { guest: true, reason: "watchdog" }, 9001),
    );
    expect(status.phase).toBe("running");
    expect(status.outcome).toBeUndefined();
    expect(status.resets).toBe(2);
    expect(status.watchdog).toEqual({ fired: 2, lastAction: "reset", lastAtMs: 9000 });
  });

  it("shutdown: a guest that obeys the power button ends the run as the watchdog's", () => {
    const { status } = run(
      ev("WATCHDOG", { action: "shutdown" }),
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }),
      exited(0),
    );
    expect(finalResult(status)).toEqual({
      code: EXIT.WATCHDOG,
      message: "watchdog: the guest stopped petting its watchdog; action shutdown",
    });
  });

  it("shutdown ignored by the guest settles nothing: a later stop request still powers it down", () => {
    const { status, actions } = run(ev("WATCHDOG", { action: "shutdown" }), {
      type: "stop-requested",
      nowMs: 1000,
      graceMs: 30_000,
    });
    expect(status.outcome).toBeUndefined();
    expect(status.phase).toBe("stopping");
    expect(actions).toContainEqual({ type: "qmp", command: "system_powerdown" });
  });

  it("shutdown, then the guest reboots instead: a later power-off is the guest's own", () => {
    const { status } = run(
      ev("WATCHDOG", { action: "shutdown" }),
      ev("RESET", { guest: true, reason: "guest-reset" }),
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }),
      exited(0),
    );
    expect(status.watchdog).toMatchObject({ fired: 1, lastAction: "shutdown" });
    expect(finalResult(status)).toEqual({ code: EXIT.OK, message: "poweroff: the guest powered off" });
  });

  it("a user's stop during a watchdog shutdown is the user's powerdown", () => {
    const { status } = run(
      ev("WATCHDOG", { action: "shutdown" }, 0),
      { type: "stop-requested", nowMs: 1000, graceMs: 30_000 },
      ev("SHUTDOWN", { guest: true, reason: "guest-shutdown" }, 3000),
      exited(0),
    );
    expect(finalResult(status)).toMatchObject({ code: EXIT.OK, message: /^powerdown/ });
  });
});
