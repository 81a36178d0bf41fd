import { describe, expect, it } from "vitest";
import type { VmClient } from "./kube.ts";
import type { VmView } from "./vm-view.ts";
import { waitFor } from "./wait.ts";
import { judgeWait, parseDuration } from "./wait-plan.ts";

const c = (type: string, status: string, reason?: string, message?: string) => ({
  type,
  status,
  reason,
  message,
});
const vm = (status: NonNullable<VmView["status"]>, generation = 2): VmView => ({
  metadata: { name: "web", generation },
  status,
});
const running = vm({
  phase: "Running",
  printableStatus: "Running",
  observedGeneration: 2,
  conditions: [c("Ready", "True"), c("GuestReady", "True")],
});

describe("judgeWait", () => {
  it("running: done only when Running with GuestReady, at the patched generation", () => {
    expect(judgeWait("running", running, { generation: 2 }).kind).toBe("done");
    expect(judgeWait("running", running, { generation: 3 })).toEqual({
      kind: "pending",
      state: "Running (not reconciled yet)",
    });
    const notReady = vm({
      phase: "Running",
      printableStatus: "Running",
      observedGeneration: 2,
      conditions: [c("Ready", "False", "GuestNotReady", "readinessProbe failing"), c("GuestReady", "False")],
    });
    expect(judgeWait("running", notReady, { generation: 2 })).toEqual({
      kind: "pending",
      state: "Running (GuestNotReady: readinessProbe failing)",
    });
  });

  it("restart: a status not made for this restart request is pending", () => {
    const old = { ...running, status: { ...running.status, restartedAt: "t1" } };
    expect(judgeWait("running", old, { generation: 2, restartedAt: "t2" }).kind).toBe("pending");
    expect(judgeWait("running", old, { generation: 2, restartedAt: "t1" }).kind).toBe("done");
  });

  it("fails with the Failure condition's reason and message when Stalled", () => {
    const crash = vm({
      phase: "Failed",
      printableStatus: "CrashLoopBackOff",
      observedGeneration: 2,
      conditions: [
        c("Stalled", "True", "CrashLoopBackOff"),
        c("Failure", "True", "LauncherFailed", "qemu exited 1"),
      ],
    });
    expect(judgeWait("running", crash, { generation: 2 })).toEqual({
      kind: "failed",
      state: "CrashLoopBackOff",
      reason: "CrashLoopBackOff: LauncherFailed: qemu exited 1",
    });
    const invalid = vm({
      printableStatus: "InvalidSpec",
      observedGeneration: 2,
      conditions: [c("Stalled", "True", "InvalidSpec", "spec.memory.guest: must be a quantity")],
    });
    expect(judgeWait("stopped", invalid, { generation: 2 })).toMatchObject({
      kind: "failed",
      reason: "InvalidSpec: InvalidSpec: spec.memory.guest: must be a quantity",
    });
  });

  it("stopped: done at Stopped; a started VM that ended is a failure to start", () => {
    const stopped = vm({ phase: "Stopped", printableStatus: "Stopped", observedGeneration: 2 });
    expect(judgeWait("stopped", stopped, { generation: 2 }).kind).toBe("done");
    expect(judgeWait("running", stopped, { generation: 2 }).kind).toBe("failed");
    expect(judgeWait("stopped", running, { generation: 2 })).toEqual({ kind: "pending", state: "Running" });
    expect(judgeWait("stopped", { metadata: { name: "web" } }, { generation: 1 }).kind).toBe("pending");
  });
});

describe("parseDuration", () => {
  it("reads Go-style durations and bare seconds", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("45")).toBe(45_000);
    expect(parseDuration("soon")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
  });
});

describe("waitFor", () => {
  const client = (seq: VmView[]) =>
    ({ getVm: async () => (seq.length > 1 ? seq.shift()! : seq[0]!) }) as unknown as VmClient;
  const sink = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, progress: { isTTY, write: (t: string) => out.push(t) } };
  };
  const clock = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
  };
  const starting = vm({ phase: "Pending", printableStatus: "Starting", observedGeneration: 2 });

  it("shows each phase change once, as lines when not a terminal, and returns when done", async () => {
    const { out, progress } = sink(false);
    const line = await waitFor(
      client([starting, starting, running]),
      "d",
      "web",
      "running",
      { generation: 2 },
      {
        timeoutMs: 10_000,
        progress,
        ...clock(),
      },
    );
    expect(out).toEqual(["VM web: Starting (0s)\n", "VM web: Running (1s)\n"]);
    expect(line).toBe("VM web is Running with a ready guest after 1s");
  });

  it("rewrites one line on a terminal", async () => {
    const { out, progress } = sink(true);
    await waitFor(
      client([starting, running]),
      "d",
      "web",
      "running",
      { generation: 2 },
      { timeoutMs: 10_000, progress, ...clock() },
    );
    expect(out).toEqual(["\r\x1b[KVM web: Starting (0s)", "\r\x1b[KVM web: Running (0.5s)", "\n"]);
  });

  it("times out with the state it saw", async () => {
    const { progress } = sink(false);
    await expect(
      waitFor(
        client([starting]),
        "d",
        "web",
        "running",
        { generation: 2 },
        { timeoutMs: 2_000, progress, ...clock() },
      ),
    ).rejects.toThrow(
      "timed out after 2s waiting for VM web to be Running with a ready guest; it is Starting",
    );
  });
});
