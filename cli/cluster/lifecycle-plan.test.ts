import { describe, expect, it } from "vitest";
import { ClusterCliError } from "./errors.ts";
import { planRestart, planStart, planStop } from "./lifecycle-plan.ts";
import { ANNOTATION_RUN_STRATEGY_BEFORE_STOP as SAVED } from "../../crds/contract/index.ts";
import type { VmView } from "./vm-view.ts";

const RESTARTED = "vireo.dev/restartedAt";
const now = new Date("2025-03-04T05:06:07.089Z");
const at = "2025-03-04T05:06:07.089Z";

function vm(
  runStrategy: string | undefined,
  extra: { saved?: string; launcherPod?: string; phase?: string; printableStatus?: string } = {},
): VmView {
  return {
    metadata: {
      name: "web",
      namespace: "ns",
      resourceVersion: "42",
      ...(extra.saved ? { annotations: { [SAVED]: extra.saved } } : {}),
    },
    spec: runStrategy === undefined ? {} : { runStrategy },
    status: {
      ...(extra.launcherPod ? { launcherPod: extra.launcherPod } : {}),
      ...(extra.phase ? { phase: extra.phase } : {}),
      ...(extra.printableStatus ? { printableStatus: extra.printableStatus } : {}),
    },
  };
}
const pod = "vireo-launcher-web";

describe("planStop", () => {
  it("sets Halted, remembers the strategy it replaces, and is conditional on the version read", () => {
    expect(planStop(vm("RerunOnFailure"))).toEqual({
      kind: "patch",
      patch: {
        spec: { runStrategy: "Halted" },
        metadata: { resourceVersion: "42", annotations: { [SAVED]: "RerunOnFailure" } },
      },
      message: "VM web stopping (runStrategy RerunOnFailure → Halted)",
    });
    // No runStrategy means the API default, Always.
    expect(planStop(vm(undefined))).toMatchObject({
      patch: { metadata: { annotations: { [SAVED]: "Always" } } },
    });
  });

  it("does nothing to a halted VM", () => {
    expect(planStop(vm("Halted"))).toEqual({
      kind: "noop",
      message: "VM web is already stopped (runStrategy Halted)",
    });
  });
});

describe("planStart from Halted", () => {
  it.each([
    // saved annotation → new runStrategy, annotations written
    [undefined, "Always", undefined],
    ["Always", "Always", { [SAVED]: null }],
    ["RerunOnFailure", "RerunOnFailure", { [SAVED]: null }],
    ["Manual", "Manual", { [SAVED]: null, [RESTARTED]: at }],
    ["Once", "Always", { [SAVED]: null }],
    ["garbage", "Always", { [SAVED]: null }],
  ] as const)("saved %s → %s", (saved, next, annotations) => {
    const plan = planStart(vm("Halted", saved ? { saved } : {}), now);
    expect(plan).toEqual({
      kind: "patch",
      patch: {
        spec: { runStrategy: next },
        metadata: { resourceVersion: "42", ...(annotations ? { annotations } : {}) },
      },
      message: `VM web starting (runStrategy Halted → ${next})`,
    });
  });
});

describe("planStart of a VM that ran and ended", () => {
  it.each([
    ["Manual", "Stopped"],
    ["Once", "Succeeded"],
    ["RerunOnFailure", "Succeeded"],
    ["Once", "Failed"],
  ] as const)("%s in phase %s keeps its strategy and sends a start request", (strategy, phase) => {
    const plan = planStart(vm(strategy, { launcherPod: pod, phase }), now);
    expect(plan).toEqual({
      kind: "patch",
      patch: { metadata: { resourceVersion: "42", annotations: { [RESTARTED]: at } } },
      message: `VM web starting (runStrategy ${strategy} kept; start request ${RESTARTED}=${at})`,
    });
  });

  it("does nothing when the VM already runs", () => {
    expect(planStart(vm("Always"), now).kind).toBe("noop");
    expect(planStart(vm(undefined), now).kind).toBe("noop");
    expect(planStart(vm("RerunOnFailure", { launcherPod: pod, phase: "Running" }), now)).toEqual({
      kind: "noop",
      message: "VM web is already running (runStrategy RerunOnFailure)",
    });
    expect(planStart(vm("Manual", { launcherPod: pod, phase: "Scheduling" }), now).kind).toBe("noop");
  });
});

describe("planRestart", () => {
  it("sets vireo.dev/restartedAt to the time, in RFC 3339 with milliseconds", () => {
    expect(planRestart(vm("Always", { launcherPod: pod, phase: "Running" }), now)).toEqual({
      kind: "patch",
      patch: { metadata: { resourceVersion: "42", annotations: { [RESTARTED]: at } } },
      message: `VM web restarting (${RESTARTED}=${at})`,
    });
  });

  it("restarts a failed VM (a retry)", () => {
    expect(planRestart(vm("Once", { launcherPod: pod, phase: "Failed" }), now).kind).toBe("patch");
  });

  it.each([
    [vm("Halted", { printableStatus: "Stopped" }), "VM web is Stopped; start it with vireo start web"],
    [vm("Halted"), "VM web is Stopped; start it with vireo start web"],
    [vm("Always"), "VM web is Unknown; start it with vireo start web"],
    [
      vm("Once", { launcherPod: pod, phase: "Succeeded", printableStatus: "Stopped" }),
      "VM web is Stopped; start it with vireo start web",
    ],
  ])("refuses a VM that is not running: %#", (v, message) => {
    expect(() => planRestart(v, now)).toThrow(ClusterCliError);
    expect(() => planRestart(v, now)).toThrow(message);
  });
});
