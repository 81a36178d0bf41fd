import { describe, expect, it } from "vitest";
import { poolSchema } from "../../crds/api/pool.ts";
import { decidePool, scaleInVictims, type ReplicaView } from "./decide.ts";
import { replicaIndex, replicaSpec, templateHash } from "./replica.ts";

const pool = (spec: Record<string, unknown> = {}) =>
  poolSchema.parse({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachinePool",
    metadata: { name: "web", namespace: "apps", uid: "pool-uid", generation: 2 },
    spec: {
      replicas: 3,
      virtualMachineTemplate: {
        metadata: { labels: { app: "web" } },
        spec: { memory: { guest: "256Mi" }, runStrategy: "Halted" },
      },
      ...spec,
    },
  });

const replica = (i: number, over: Partial<ReplicaView> = {}): ReplicaView => ({
  name: `web-${i}`,
  uid: `u${i}`,
  createdAt: 1000 + i,
  deleting: false,
  ready: true,
  templateHash: templateHash(pool()),
  ...over,
});
const kinds = (d: ReturnType<typeof decidePool>) =>
  d.actions.map((a) => `${a.kind} ${"vm" in a ? (a.vm.metadata as { name: string }).name : a.name}`);

describe("decidePool", () => {
  it("creates the lowest free indices, owned and labelled, and is not ready until they are", () => {
    const d = decidePool(pool(), [replica(1)], undefined, 0);
    expect(kinds(d)).toEqual(["create web-0", "create web-2"]);
    const vm = (d.actions[0] as { vm: Record<string, any> }).vm; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(vm.metadata.labels).toEqual({ app: "web", "vireo.dev/pool": "web", "vireo.dev/pool-index": "0" });
    expect(vm.metadata.ownerReferences[0]).toMatchObject({
      kind: "VirtualMachinePool",
      uid: "pool-uid",
      controller: true,
    });
    expect(vm.spec.runStrategy).toBe("Halted");
    expect(d.status).toMatchObject({
      replicas: 1,
      readyReplicas: 1,
      labelSelector: "vireo.dev/pool=web",
      observedGeneration: 2,
    });
    expect(d.status.conditions?.find((c) => c.type === "Reconciling")?.status).toBe("True");
  });

  it("lets a replica being deleted hold its place, and brings it back under its name once gone", () => {
    const deleting = decidePool(
      pool({ replicas: 2 }),
      [replica(0, { deleting: true }), replica(1)],
      undefined,
      0,
    );
    expect(kinds(deleting)).toEqual([]);
    expect(deleting.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
    expect(kinds(decidePool(pool({ replicas: 2 }), [replica(1)], undefined, 0))).toEqual(["create web-0"]);
  });

  it("is Ready and not Reconciling when every replica exists, is ready and up to date", () => {
    const d = decidePool(pool(), [replica(0), replica(1), replica(2)], undefined, 0);
    expect(d.actions).toEqual([]);
    expect(d.status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ["Ready", "True"],
      ["Reconciling", "False"],
    ]);
  });

  it("brings replicas of an older template up to date", () => {
    const d = decidePool(pool(), [replica(0), replica(1, { templateHash: "old" }), replica(2)], undefined, 0);
    expect(kinds(d)).toEqual(["update web-1"]);
    expect(d.status.updatedReplicas).toBe(2);
  });
});

describe("scale-in order", () => {
  const alive = [
    replica(0, { createdAt: 5 }),
    replica(1, { createdAt: 9 }),
    replica(2, { createdAt: 7 }),
    replica(3, { createdAt: 9 }),
  ];
  it("removes the newest first, ties going to the higher index", () => {
    expect(scaleInVictims(pool(), alive, 3).map((r) => r.name)).toEqual(["web-3", "web-1", "web-2"]);
  });
  it("or the highest index first", () => {
    expect(
      scaleInVictims(pool({ scaleIn: { order: "HighestIndexFirst" } }), alive, 2).map((r) => r.name),
    ).toEqual(["web-3", "web-2"]);
  });
  it("takes the listed ones first, in their order, ignoring names that do not exist", () => {
    const p = pool({ scaleIn: { first: ["web-7", "web-0", "web-2"] } });
    expect(scaleInVictims(p, alive, 3).map((r) => r.name)).toEqual(["web-0", "web-2", "web-3"]);
    expect(kinds(decidePool(p, alive, undefined, 0))).toEqual(["delete web-0"]);
  });
});

describe("replicas", () => {
  it("get their own DataVolumes: template names and the volumes using them take the index", () => {
    const spec = {
      dataVolumeTemplates: [{ metadata: { name: "root" }, spec: {} }],
      volumes: [
        { name: "root", dataVolume: { name: "root" } },
        { name: "shared", persistentVolumeClaim: { claimName: "root" } },
      ],
    };
    expect(replicaSpec(spec, 4)).toEqual({
      dataVolumeTemplates: [{ metadata: { name: "root-4" }, spec: {} }],
      volumes: [
        { name: "root", dataVolume: { name: "root-4" } },
        { name: "shared", persistentVolumeClaim: { claimName: "root" } },
      ],
    });
  });
  it("are recognised by name only as <pool>-<n>", () => {
    expect([
      replicaIndex("web", "web-12"),
      replicaIndex("web", "web-01"),
      replicaIndex("web", "web-x"),
      replicaIndex("web", "webs-1"),
    ]).toEqual([12, undefined, undefined, undefined]);
  });
});
