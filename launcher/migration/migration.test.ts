import { describe, expect, it } from "vitest";
import { incomingArgs, incomingUri, sourcePlan } from "./plan.ts";
import { admit, type MigrationSessionStatus } from "./session.ts";
import { decideSource, progressOf, type SourceView } from "./progress.ts";
import { migrateSource, type QmpExecutor } from "./source.ts";
import type { Clock } from "../../lib/clock.ts";

const MiB = 2 ** 20;

describe("sourcePlan", () => {
  it("defaults to KubeVirt's 64 MiB/s, auto-converge on, 150 s per GiB (at least one GiB)", () => {
    const p = sourcePlan({}, 256 * MiB);
    expect(p.parameters["max-bandwidth"]).toBe(64 * MiB);
    expect(p.capabilities).toContainEqual({ capability: "auto-converge", state: true });
    expect(p.capabilities).toContainEqual({ capability: "events", state: true });
    expect(p.deadlineMs).toBe(150_000);
    expect(sourcePlan({ completionTimeoutPerGiB: 10 }, 3 * 1024 * MiB + 1).deadlineMs).toBe(40_000);
  });
  it("takes the VM's settings", () => {
    const p = sourcePlan({ bandwidthBytesPerSecond: MiB, autoConverge: false }, MiB);
    expect(p.parameters["max-bandwidth"]).toBe(MiB);
    expect(p.capabilities).toContainEqual({ capability: "auto-converge", state: false });
  });
});

describe("incomingUri", () => {
  it("brackets IPv6 and refuses a bad port", () => {
    expect(incomingUri("10.0.0.7", 49152)).toBe("tcp:10.0.0.7:49152");
    expect(incomingUri("fd00::7", 49152)).toBe("tcp:[fd00::7]:49152");
    expect(() => incomingUri("10.0.0.7", 0)).toThrow(RangeError);
  });
});

describe("progressOf", () => {
  it("reads QEMU 7.2's MigrationInfo", () => {
    const reply = {
      status: "completed",
      ram: { transferred: 100, remaining: 0, total: 300, "dirty-sync-count": 3, duplicate: 7 },
      downtime: 42,
      "total-time": 900,
      "setup-time": 1,
    };
    expect(progressOf(reply)).toEqual({
      status: "completed",
      transferredBytes: 100,
      remainingBytes: 0,
      totalBytes: 300,
      iterations: 3,
      downtimeMilliseconds: 42,
      totalTimeMilliseconds: 900,
    });
    expect(progressOf({})).toEqual({ status: "none" });
    expect(() => progressOf({ status: "exploded" })).toThrow();
  });
});

describe("decideSource", () => {
  const v = (over: Partial<SourceView> & { status?: string }): SourceView => ({
    progress: { status: (over.status ?? "active") as never },
    elapsedMs: 0,
    deadlineMs: 1000,
    cancelRequested: false,
    cancelSent: false,
    timedOut: false,
    ...over,
  });
  it("polls while active, cancels once on request or at the deadline", () => {
    expect(decideSource(v({}))).toEqual({ kind: "poll" });
    expect(decideSource(v({ cancelRequested: true }))).toEqual({ kind: "cancel", timedOut: false });
    expect(decideSource(v({ elapsedMs: 1000 }))).toEqual({ kind: "cancel", timedOut: true });
    expect(decideSource(v({ elapsedMs: 5000, cancelSent: true, timedOut: true }))).toEqual({ kind: "poll" });
  });
  it("ends on QEMU's final statuses; a deadline cancel is a timeout failure", () => {
    expect(decideSource(v({ status: "completed", cancelRequested: true }))).toEqual({
      kind: "done",
      outcome: { result: "Succeeded" },
    });
    expect(decideSource(v({ status: "cancelled", cancelSent: true }))).toEqual({
      kind: "done",
      outcome: { result: "Cancelled" },
    });
    const t = decideSource(v({ status: "cancelled", cancelSent: true, timedOut: true }));
    expect(t).toMatchObject({ kind: "done", outcome: { result: "Failed", reason: "MIGRATION_TIMEOUT" } });
    const f = decideSource({ ...v({}), progress: { status: "failed", error: "Connection reset" } });
    expect(f).toEqual({
      kind: "done",
      outcome: { result: "Failed", reason: "MIGRATION_FAILED", message: "Connection reset" },
    });
  });
});

/** A scripted QEMU: query-migrate answers from a list; records every command. */
function fakeQmp(statuses: string[], runStates: string[]) {
  const sent: string[] = [];
  const qmp: QmpExecutor = {
    execute<T>(command: string): Promise<T> {
      sent.push(command);
      if (command === "query-migrate") return Promise.resolve({ status: statuses.shift() ?? "active" } as T);
      if (command === "query-status") return Promise.resolve({ status: runStates.shift() ?? "running" } as T);
      return Promise.resolve({} as T);
    },
  };
  return { qmp, sent };
}
const fakeClock = (): Clock => {
  let t = 0;
  return {
    now: () => t,
    setTimer: () => ({ cancel() {} }),
    sleep: (ms) => ((t += ms), Promise.resolve()),
  };
};

describe("migrateSource", () => {
  const base = { uri: "tcp:10.0.0.2:49152", tuning: {}, guestMemoryBytes: MiB, pollMs: 100 };
  it("cancels at the deadline and resumes a source QEMU left paused", async () => {
    const { qmp, sent } = fakeQmp(
      [...Array<string>(1500).fill("active"), "cancelled"],
      ["running", "paused"],
    );
    const r = await migrateSource(qmp, {
      ...base,
      tuning: { completionTimeoutPerGiB: 100 },
      clock: fakeClock(),
    });
    expect(r.outcome).toMatchObject({ result: "Failed", reason: "MIGRATION_TIMEOUT" });
    expect(sent.filter((c) => c === "migrate_cancel")).toHaveLength(1);
    expect(sent.at(-2)).toBe("cont");
    expect(r.runState).toBe("running");
  });
  it("sends migrate_cancel once when aborted and leaves a running source alone", async () => {
    const ac = new AbortController();
    ac.abort();
    const { qmp, sent } = fakeQmp(["active", "cancelling", "cancelled"], ["running", "running"]);
    const r = await migrateSource(qmp, { ...base, signal: ac.signal, clock: fakeClock() });
    expect(r.outcome).toEqual({ result: "Cancelled" });
    expect(sent.filter((c) => c === "migrate_cancel")).toHaveLength(1);
    expect(sent).not.toContain("cont");
  });
});

describe("admit (which migrate command runs when)", () => {
  const src = (state: MigrationSessionStatus["state"]): MigrationSessionStatus => ({ role: "source", state });
  const tgt = (state: MigrationSessionStatus["state"]): MigrationSessionStatus => ({ role: "target", state });
  it("lets a target listen once and nothing else", () => {
    expect(admit(tgt("idle"), "listen")).toBeUndefined();
    expect(admit(tgt("listening"), "listen")?.code).toBe("MIGRATION_BUSY");
    expect(admit(tgt("idle"), "start")?.code).toBe("NOT_A_SOURCE");
    expect(admit(tgt("listening"), "cancel")?.code).toBe("NOT_A_SOURCE");
  });
  it("lets a source start (again after a failure or cancel) and cancel only while running", () => {
    expect(admit(src("idle"), "listen")?.code).toBe("NOT_A_TARGET");
    expect(admit(src("idle"), "start")).toBeUndefined();
    expect(admit(src("failed"), "start")).toBeUndefined();
    expect(admit(src("cancelled"), "start")).toBeUndefined();
    expect(admit(src("running"), "start")?.code).toBe("MIGRATION_BUSY");
    expect(admit(src("succeeded"), "start")?.code).toBe("MIGRATION_BUSY");
    expect(admit(src("running"), "cancel")).toBeUndefined();
    expect(admit(src("idle"), "cancel")?.code).toBe("NOT_MIGRATING");
  });
});

describe("incomingArgs", () => {
  it("adds -incoming defer only on a target", () => {
    expect(incomingArgs({ migration: { incoming: true } })).toEqual(["-incoming", "defer"]);
    expect(incomingArgs({})).toEqual([]);
    expect(incomingArgs({ migration: { incoming: false } })).toEqual([]);
  });
});
