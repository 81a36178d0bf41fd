import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../lib/clock.ts";
import { ControlRefused, VmDriver } from "./vm-driver.ts";

/** A clock whose timers fire when the test says so. */
function fakeClock() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimer(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
    sleep: async () => {},
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers)
      if (t.live && t.at <= now) {
        t.live = false;
        t.fn();
      }
  };
  return { clock, advance, pending: () => timers.filter((t) => t.live).length };
}

function driver() {
  const sent: string[] = [];
  const killed: string[] = [];
  const ready: boolean[] = [];
  const c = fakeClock();
  const d = new VmDriver({
    qemu: { kill: (s) => void killed.push(s) },
    qmp: { execute: async (command: string) => void sent.push(command) } as never,
    log: pino({ level: "silent" }),
    ready: { update: (r) => void ready.push(r) },
    terminationGracePeriodSeconds: 10,
    clock: c.clock,
  });
  d.dispatch({
    type: "qemu-started",
    pid: 7,
    qemuVersion: "7.2.0",
    accel: { accel: "tcg", hostCpuQuirks: [], reason: "test" },
  });
  return { d, sent, killed, ready, ...c };
}

describe("VmDriver carries out the reducer's decisions", () => {
  it("attached → cont, then ready; a stop presses the power button and quits at the clock's deadline", async () => {
    const { d, sent, killed, ready, advance, pending } = driver();
    await Promise.all(d.dispatch({ type: "attached" }).sent);
    d.dispatch({ type: "running" });
    expect(sent).toEqual(["cont"]);
    expect(ready.at(-1)).toBe(true);
    d.stop("SIGTERM");
    expect(sent).toEqual(["cont", "system_powerdown"]);
    advance(8_000); // stopGraceMs(10) = 8 s
    expect(sent).toEqual(["cont", "system_powerdown", "quit"]);
    advance(10_000); // QUIT_TIMEOUT_MS: QEMU did not exit after quit
    expect(killed).toEqual(["SIGKILL"]);
    d.close();
    expect(pending()).toBe(0);
  });

  it("control: a refused pause throws the reducer's code; an accepted one waits for QMP stop", async () => {
    const { d, sent } = driver();
    await expect(d.control("pause")).rejects.toEqual(
      new ControlRefused("NOT_RUNNING", "cannot pause: the VM is starting"),
    );
    d.dispatch({ type: "running" });
    await expect(d.control("pause")).resolves.toMatchObject({ pausedReason: "user" });
    expect(sent).toEqual(["stop"]);
    await expect(d.control("unpause")).rejects.toMatchObject({ code: "NOT_PAUSED" });
  });
});
