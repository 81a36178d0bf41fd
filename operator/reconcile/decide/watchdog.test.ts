import { describe, expect, it } from "vitest";
import { EXIT } from "../../../crds/contract/index.ts";
import { decide } from "./decide.ts";
import { cond, ended, kinds, observed, rawVm } from "./testing.ts";

const LONG = 10 * 60_000;
const MESSAGE = "watchdog: the guest stopped petting its watchdog; action poweroff";
const fired = () =>
  ended("Failed", LONG, { termination: { exitCode: EXIT.WATCHDOG, reason: "Error", message: MESSAGE } });

describe("decide: a launcher ended by the guest's watchdog", () => {
  it("Always: the VM restarts, Failure=True WatchdogFired with the launcher's words, and a Warning Event", () => {
    const d = decide(rawVm({ runStrategy: "Always" }), observed({ pods: [fired()] }));
    expect(kinds(d)).toEqual(["deletePod"]);
    expect(d.status?.printableStatus).toBe("Starting");
    expect(cond(d, "Failure")).toMatchObject({
      status: "True",
      reason: "WatchdogFired",
      message: expect.stringContaining(MESSAGE),
    });
    expect(d.events).toContainEqual({
      type: "Warning",
      reason: "WatchdogFired",
      message: expect.stringContaining(MESSAGE),
    });
  });

  it("RerunOnFailure restarts it too (a watchdog poweroff is a failure, not a shutdown)", () => {
    const d = decide(rawVm({ runStrategy: "RerunOnFailure" }), observed({ pods: [fired()] }));
    expect(kinds(d)).toEqual(["deletePod"]);
    expect(cond(d, "Failure")?.reason).toBe("WatchdogFired");
  });

  it("Once: stays Failed with reason WatchdogFired in Failure and Stalled, and in the run record", () => {
    const d = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [fired()] }));
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("Failed");
    expect(cond(d, "Failure")?.reason).toBe("WatchdogFired");
    expect(cond(d, "Stalled")?.reason).toBe("WatchdogFired");
    expect(d.status?.lastRun?.message).toBe(`exit code ${EXIT.WATCHDOG}: Error: ${MESSAGE}`);
  });

  it("any other failure keeps LauncherFailed", () => {
    const d = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [ended("Failed", LONG)] }));
    expect(cond(d, "Failure")?.reason).toBe("LauncherFailed");
  });
});
