import { describe, expect, it } from "vitest";
import { EXIT } from "../../crds/contract/index.ts";
import { finalResult } from "./outcome.ts";
import { initialStatus, reduce, type Action, type Input, type LauncherStatus } from "./state.ts";

const accel = { accel: "tcg" as const, hostCpuQuirks: [], reason: "test" };
const qmp = (actions: Action[]) => actions.flatMap((a) => (a.type === "qmp" ? [a.command] : []));
function apply(status: LauncherStatus, ...inputs: Input[]) {
  const actions: Action[] = [];
  for (const input of inputs) {
    const r = reduce(status, input);
    status = r.status;
    actions.push(...r.actions);
  }
  return { status, actions };
}
const started = () =>
  apply(initialStatus(), { type: "qemu-started", pid: 7, qemuVersion: "7.2.0", accel }).status;

describe("supervisor state: live migration", () => {
  it("a target stays paused when attached and resumes only once the incoming stream completed", () => {
    const waiting = apply(started(), { type: "attached", incoming: true });
    expect(qmp(waiting.actions)).toEqual([]);
    expect(waiting.status.phase).toBe("starting");
    const resumed = apply(waiting.status, { type: "migrated-in" }, { type: "running" });
    expect(qmp(resumed.actions)).toEqual(["cont"]);
    expect(resumed.status.phase).toBe("running");
  });

  it("a target told to stop while it waits quits instead of resuming", () => {
    const waiting = apply(started(), { type: "attached", incoming: true });
    const stopped = apply(
      waiting.status,
      { type: "stop-requested", nowMs: 0, graceMs: 1000 },
      { type: "migrated-in" },
    );
    expect(qmp(stopped.actions)).toEqual(["quit"]);
  });

  it("a source that handed its guest over quits QEMU and ends with 0 and QEMU's figures", () => {
    const running = apply(started(), { type: "attached" }, { type: "running" }).status;
    const summary = { downtimeMs: 12, transferredBytes: 1000, totalTimeMs: 1500 };
    const out = apply(running, { type: "migrated-out", summary });
    expect(qmp(out.actions)).toEqual(["quit"]);
    expect(out.actions).toContainEqual({ type: "arm-kill", inMs: 10_000 });
    const end = apply(out.status, { type: "qemu-exited", exit: { code: 0, signal: null }, stderrTail: [] });
    expect(finalResult(end.status)).toEqual({
      code: EXIT.OK,
      message:
        "migrated: the guest runs in the migration's target pod; downtime_ms=12 transferred_bytes=1000 total_ms=1500",
    });
  });
});
