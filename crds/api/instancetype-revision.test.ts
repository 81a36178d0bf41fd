import { describe, expect, it } from "vitest";
import {
  buildRevision,
  resolveReferences,
  revisionName,
  type ProfileObject,
  type ProfileSource,
} from "./instancetype-revision.ts";
import { parseProfile } from "./instancetype-objects.ts";

const it4 = (guest: string): ProfileObject => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachineClusterInstancetype",
  metadata: { name: "u1.medium", uid: "it-uid", generation: 3 },
  spec: { cpu: { guest: 4 }, memory: { guest } },
});

function source(live: Record<string, ProfileObject>, revisions: Record<string, unknown> = {}): ProfileSource {
  return {
    profile: async (kind, name, ns) => live[`${kind}/${ns ?? ""}/${name}`],
    revision: async (ns, name) => revisions[`${ns}/${name}`] as ProfileObject | undefined,
  };
}

const vm = (instancetype: Record<string, unknown>) => ({
  metadata: { name: "web", namespace: "apps" },
  spec: { instancetype },
});

describe("resolveReferences", () => {
  it("uses the live object when nothing is pinned, and hands it back for pinning", async () => {
    const r = await resolveReferences(
      vm({ name: "u1.medium" }),
      source({ "VirtualMachineClusterInstancetype//u1.medium": it4("4Gi") }),
    );
    expect(r.ok && r.refs.map((x) => [x.field, x.profile.name, Boolean(x.unpinned)])).toEqual([
      ["instancetype", "u1.medium", true],
    ]);
    expect(r.ok && r.inputs.instancetype?.spec.memory.guest).toBe("4Gi");
  });

  it("keeps the pinned revision after the instancetype was edited, and says the live one differs", async () => {
    const p = parseProfile(it4("4Gi"));
    if (!p.ok) throw new Error("fixture");
    const rev = buildRevision({ name: "web", namespace: "apps", uid: "vm-uid" }, it4("4Gi"), p.profile) as {
      metadata: { name: string };
      data: unknown;
    };
    expect(rev.metadata.name).toBe(revisionName("web", p.profile));
    expect(rev.metadata.name).toMatch(/^web-u1\.medium-[0-9a-f]{10}$/);
    const r = await resolveReferences(
      vm({ name: "u1.medium", kind: "VirtualMachineClusterInstancetype", revisionName: rev.metadata.name }),
      source(
        { "VirtualMachineClusterInstancetype//u1.medium": it4("8Gi") },
        { [`apps/${rev.metadata.name}`]: rev.data },
      ),
    );
    expect(r.ok && r.inputs.instancetype?.spec.memory.guest).toBe("4Gi");
    expect(r.ok && r.refs[0]!.liveDiffers).toBe(true);
    expect(r.ok && r.refs[0]!.unpinned).toBeUndefined();
  });

  it("reports a missing object or revision with its field path, as missing", async () => {
    const r = await resolveReferences(vm({ name: "u1.huge" }), source({}));
    expect(r).toEqual({
      ok: false,
      missing: true,
      problems: [
        { path: "spec.instancetype.name", message: "VirtualMachineClusterInstancetype u1.huge not found" },
      ],
    });
    const ns = await resolveReferences(vm({ name: "mine", kind: "VirtualMachineInstancetype" }), source({}));
    expect(ns.ok ? "" : ns.problems[0]!.message).toBe(
      "VirtualMachineInstancetype mine not found in namespace apps",
    );
    const gone = await resolveReferences(
      vm({ name: "u1.medium", revisionName: "web-u1.medium-0" }),
      source({}),
    );
    expect(gone.ok ? [] : gone.problems.map((p) => p.path)).toEqual(["spec.instancetype.revisionName"]);
  });

  it("refuses an invalid live object (not missing: waiting cannot help)", async () => {
    const bad = { ...it4("4Gi"), spec: { cpu: { guest: 0 }, memory: { guest: "4Gi" } } };
    const r = await resolveReferences(
      vm({ name: "u1.medium" }),
      source({ "VirtualMachineClusterInstancetype//u1.medium": bad }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.missing).toBe(false);
    expect(r.problems[0]!.message).toMatch(/spec\.cpu\.guest: cpu\.guest must be at least 1/);
  });
});
