import { describe, expect, it } from "vitest";
import { vmPodsOf } from "../../migration/adoption.ts";
import { decide } from "./decide.ts";
import { NOW, rawVm, pod, ended, observed, kinds } from "./testing.ts";

const source = pod({ name: "vireo-launcher-web", uid: "src" });
const target = pod({ name: "vireo-target-m1", uid: "tgt", migrationTarget: "m1", createdAt: NOW - 10_000 });
const handedOver = ended("Succeeded", 600_000, {
  name: "vireo-launcher-web",
  uid: "src",
  termination: {
    exitCode: 0,
    message: "migrated: the guest runs in the migration's target pod; downtime_ms=9",
  },
});
const current = (name: string) => ({ status: { launcherPod: name } as never });

describe("VM reconciler with a live migration in flight", () => {
  it("leaves a newer target pod alone while the VM's pod runs (no 'one launcher pod' deletion)", () => {
    const d = decide(rawVm({}, current("vireo-launcher-web")), observed({ pods: [source, target] }));
    expect(kinds(d)).toEqual([]);
    expect(d.status).toMatchObject({ launcherPod: "vireo-launcher-web", printableStatus: "Running" });
  });

  it("takes the target as the VM's pod once the source handed its guest over, and neither restarts nor deletes the source", () => {
    const d = decide(rawVm({}, current("vireo-launcher-web")), observed({ pods: [handedOver, target] }));
    expect(kinds(d)).toEqual([]);
    expect(d.status).toMatchObject({
      launcherPod: "vireo-target-m1",
      printableStatus: "Running",
      nodeName: "node-a",
    });
    // Next pass: the status names the target; a new migration's target is left alone in turn.
    const next = pod({ name: "vireo-target-m2", uid: "t2", migrationTarget: "m2", createdAt: NOW - 1_000 });
    const again = decide(rawVm({}, current("vireo-target-m1")), observed({ pods: [target, next] }));
    expect(kinds(again)).toEqual([]);
    expect(again.status?.launcherPod).toBe("vireo-target-m1");
  });

  it("picks pods purely", () => {
    expect(vmPodsOf([source, target], "vireo-launcher-web")).toEqual([source]);
    expect(vmPodsOf([handedOver, target], "vireo-launcher-web")).toEqual([target]);
    expect(vmPodsOf([target], undefined)).toEqual([target]);
    expect(vmPodsOf([source, target], undefined)).toEqual([source]);
    expect(vmPodsOf([], undefined)).toEqual([]);
  });
});
