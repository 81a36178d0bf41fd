import { describe, expect, it } from "vitest";
import { ClusterCliError } from "./errors.ts";
import {
  ANNOTATION_RUN_STRATEGY_BEFORE_STOP as SAVED,
  planRestart,
  planStart,
  planStop,
} from "./lifecycle-plan.ts";
import type { VmView } from "./vm-view.ts";

function vm(
  runStrategy: string | undefined,
  extra: { saved?: string; launcherPod?: string; printableStatus?: string } = {},
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
      ...(extra.printableStatus ? { printableStatus: extra.printableStatus } : {}),
    },
  };
}

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

describe("planStart", () => {
  it.each([
    // runStrategy, saved annotation, launcher pod → new runStrategy
    ["Halted", undefined, undefined, "Always"],
    ["Halted", "RerunOnFailure", undefined, "RerunOnFailure"],
    ["Halted", "Always", undefined, "Always"],
    ["Halted", "Manual", undefined, "Always"],
    ["Halted", "Once", undefined, "Always"],
    ["Manual", undefined, undefined, "Always"],
    ["Once", undefined, undefined, "Always"],
    ["RerunOnFailure", undefined, undefined, "Always"],
  ] as const)("%s (saved %s, pod %s) → %s", (current, saved, pod, next) => {
    const plan = planStart(
      vm(current, { ...(saved ? { saved } : {}), ...(pod ? { launcherPod: pod } : {}) }),
    );
    expect(plan.kind).toBe("patch");
    if (plan.kind !== "patch") return;
    expect(plan.patch["spec"]).toEqual({ runStrategy: next });
    expect(plan.message).toBe(`VM web starting (runStrategy ${current} → ${next})`);
    // The saved strategy is consumed (null deletes the key in a merge patch).
    const annotations = (plan.patch["metadata"] as { annotations?: Record<string, null> }).annotations;
    expect(annotations).toEqual(saved ? { [SAVED]: null } : undefined);
  });

  it("does nothing when the VM already runs by its strategy", () => {
    expect(planStart(vm("Always")).kind).toBe("noop");
    expect(planStart(vm(undefined)).kind).toBe("noop");
    expect(planStart(vm("RerunOnFailure", { launcherPod: "vireo-launcher-web" }))).toEqual({
      kind: "noop",
      message: "VM web is already running (runStrategy RerunOnFailure)",
    });
  });
});

describe("planRestart", () => {
  const now = new Date("2025-03-04T05:06:07.089Z");

  it("sets vireo.dev/restartedAt to the time, in RFC 3339 with milliseconds", () => {
    const plan = planRestart(vm("Always", { launcherPod: "vireo-launcher-web" }), now);
    expect(plan).toEqual({
      kind: "patch",
      patch: {
        metadata: {
          resourceVersion: "42",
          annotations: { "vireo.dev/restartedAt": "2025-03-04T05:06:07.089Z" },
        },
      },
      message: "VM web restarting (vireo.dev/restartedAt=2025-03-04T05:06:07.089Z)",
    });
  });

  it.each([
    [vm("Halted", { printableStatus: "Stopped" }), "VM web is Stopped; start it with vireo start web"],
    [vm("Halted"), "VM web is Stopped; start it with vireo start web"],
    [vm("Once", { printableStatus: "Succeeded" }), "VM web is Succeeded; start it with vireo start web"],
  ])("refuses a VM without a launcher: %#", (v, message) => {
    expect(() => planRestart(v, now)).toThrow(ClusterCliError);
    expect(() => planRestart(v, now)).toThrow(message);
  });
});
