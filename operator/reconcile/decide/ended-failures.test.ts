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

describe("decide: a launcher the kubelet stopped for a failed liveness probe", () => {
  // The kubelet SIGTERMs the launcher; the guest obeys the power button; exit 0, so the pod reads Succeeded.
  const killed = (message = "powerdown: the guest powered off 4.2 s after the ACPI power button") =>
    ended("Succeeded", LONG, { termination: { exitCode: 0, reason: "Completed", message } });

  it("RerunOnFailure restarts it (a failure, as KubeVirt), with Failure=True LivenessProbeFailed and a Warning Event", () => {
    const d = decide(rawVm({ runStrategy: "RerunOnFailure" }), observed({ pods: [killed()] }));
    expect(kinds(d)).toEqual(["deletePod"]);
    expect(cond(d, "Failure")).toMatchObject({
      status: "True",
      reason: "LivenessProbeFailed",
      message: expect.stringMatching(
        /^liveness probe failed, the kubelet stopped the launcher \(exit code 0: /,
      ),
    });
    expect(d.events).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "LivenessProbeFailed" }),
    );
  });

  it("a quick one (crash-loop back-off first) says so in the back-off's Warning", () => {
    const quick = ended("Succeeded", 10_000, {
      termination: {
        exitCode: 0,
        reason: "Completed",
        message: "powerdown: the guest powered off 1.0 s after the ACPI power button",
      },
    });
    const d = decide(rawVm({ runStrategy: "Always" }), observed({ pods: [quick] }));
    expect(d.status?.printableStatus).toBe("CrashLoopBackOff");
    expect(cond(d, "Failure")?.reason).toBe("LivenessProbeFailed");
    expect(d.events).toContainEqual(
      expect.objectContaining({ type: "Warning", message: expect.stringContaining("liveness probe failed") }),
    );
  });

  it("Once: Failed, not Stopped; the run record says Failed; a quit at the deadline counts the same", () => {
    for (const message of [
      undefined,
      "quit: the guest did not power off within 24.0 s of the stop request; QEMU was quit",
    ]) {
      const d = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [killed(message)] }));
      expect(d.status?.printableStatus).toBe("Failed");
      expect(cond(d, "Failure")?.reason).toBe("LivenessProbeFailed");
      expect(d.status?.lastRun?.phase).toBe("Failed");
    }
  });

  it("a guest that powered itself off is a clean end: RerunOnFailure leaves it Stopped", () => {
    const d = decide(
      rawVm({ runStrategy: "RerunOnFailure" }),
      observed({ pods: [killed("poweroff: the guest powered off")] }),
    );
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("Stopped");
  });
});
