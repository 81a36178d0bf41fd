import { describe, expect, it } from "vitest";
import { instancetypeSpecSchema } from "../../crds/api/instancetype.ts";
import { expandWithFacts, hasProfiles, type ProfileFacts } from "./facts.ts";

const raw = (spec: Record<string, unknown>) => ({ metadata: { name: "vm" }, spec });
const facts: ProfileFacts = {
  ok: true,
  inputs: {
    instancetype: {
      kind: "VirtualMachineClusterInstancetype",
      name: "u1.small",
      spec: instancetypeSpecSchema.parse({ cpu: { guest: 1 }, memory: { guest: "2Gi" } }),
    },
  },
  revisions: { instancetype: "vm-u1.small-0123456789" },
};

describe("expandWithFacts", () => {
  it("passes a VM without references through untouched, facts or not", () => {
    const vm = raw({ memory: { guest: "1Gi" } });
    expect(expandWithFacts(vm, undefined)).toEqual({ ok: true, vm });
    expect(hasProfiles(vm.spec)).toBe(false);
  });

  it("writes the revision just pinned into the expanded spec, so the pod's spec hash does not change when the patch lands", () => {
    const r = expandWithFacts(raw({ instancetype: { name: "u1.small" } }), facts);
    expect(r.ok && (r.vm.spec as { instancetype: unknown }).instancetype).toEqual({
      kind: "VirtualMachineClusterInstancetype",
      name: "u1.small",
      revisionName: "vm-u1.small-0123456789",
    });
    expect(r.ok && (r.vm.spec as { memory: unknown }).memory).toEqual({ guest: "2Gi" });
  });

  it("turns unresolved references, resolution problems and conflicts into one message with paths", () => {
    const vm = raw({ instancetype: { name: "u1.small" }, memory: { guest: "1Gi" } });
    expect(expandWithFacts(vm, undefined)).toEqual({
      ok: false,
      message: "spec.instancetype: instancetype and preference were not resolved",
    });
    expect(
      expandWithFacts(vm, {
        ok: false,
        missing: true,
        problems: [{ path: "spec.instancetype.name", message: "gone" }],
      }),
    ).toEqual({ ok: false, message: "spec.instancetype.name: gone" });
    expect(expandWithFacts(vm, facts)).toEqual({
      ok: false,
      message:
        "InstancetypeConflict: spec.memory: memory is set by the instancetype u1.small; remove spec.memory",
    });
  });
});
