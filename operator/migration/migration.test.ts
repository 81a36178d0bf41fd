import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ANNOTATION_LAUNCHER_CONFIG } from "../../crds/contract/metadata.ts";
import { buildTargetPod } from "./target-pod.ts";
import { Registry } from "prom-client";
import { migrationMetrics, recordMigration } from "./metrics.ts";
import { vmSpecSchema } from "../../crds/api/spec.ts";
import { decideMigration, type MigrationFacts, TARGET_SCHEDULING_TIMEOUT_MS } from "./decide.ts";
import { migratability, type ClaimFacts } from "./migratable.ts";
import { migratedFigures } from "./termination.ts";

const spec = (over: object) => vmSpecSchema.parse({ memory: { guest: "128Mi" }, ...over });
const rwx: ClaimFacts = { accessModes: ["ReadWriteMany"] };
const claims = (m: Record<string, ClaimFacts>) => (n: string) => m[n];
const shared = {
  disks: [{ name: "root" }],
  volumes: [{ name: "root", persistentVolumeClaim: { claimName: "root-pvc" } }],
  interfaces: [{ name: "default", binding: "masquerade" }],
};

describe("migratability", () => {
  it("is True for RWX claims, cloud-init and a masquerade NIC", () => {
    const s = spec({
      ...shared,
      disks: [{ name: "root" }, { name: "ci" }],
      volumes: [...shared.volumes, { name: "ci", cloudInitNoCloud: { userData: "#cloud-config\n" } }],
    });
    expect(migratability(s, claims({ "root-pvc": rwx }), "bridge")).toMatchObject({ status: "True" });
  });
  it("refuses local disks, RWO or unknown claims, bridge on the pod network (also by default), persistent state", () => {
    const cd = spec({ ...shared, volumes: [{ name: "root", containerDisk: { image: "x" } }] });
    expect(migratability(cd, claims({}), "masquerade")).toMatchObject({
      status: "False",
      reason: "LocalDisk",
    });
    const rwo = claims({ "root-pvc": { accessModes: ["ReadWriteOnce"] } });
    expect(migratability(spec(shared), rwo, "bridge").reason).toBe("DiskNotShared");
    expect(migratability(spec(shared), claims({}), "bridge").reason).toBe("ClaimUnknown");
    const bridged = spec({ ...shared, interfaces: [{ name: "default" }] });
    expect(migratability(bridged, claims({ "root-pvc": rwx }), "bridge").reason).toBe("BridgeOnPodNetwork");
    expect(migratability(bridged, claims({ "root-pvc": rwx }), "passt").status).toBe("True");
    const uefi = spec({ ...shared, firmware: { uefi: { persistent: true } } });
    expect(migratability(uefi, claims({ "root-pvc": rwx }), "bridge").reason).toBe("PersistentState");
  });
});

describe("migratedFigures", () => {
  it("reads the launcher's termination message and ignores junk", () => {
    const m =
      "migrated: the guest runs in the migration's target pod; downtime_ms=12 transferred_bytes=99 total_ms=5";
    expect(migratedFigures(m)).toEqual({ downtimeMilliseconds: 12, transferredBytes: 99 });
    expect(migratedFigures("migrated: downtime_ms=abc")).toEqual({});
  });
});

const running = { name: "virt-launcher-web", node: "node-1", phase: "Running" as const, ip: "10.0.0.5" };
const facts = (over: Partial<MigrationFacts>): MigrationFacts => ({
  spec: { vmName: "web" },
  status: {},
  vm: { running: true, migratable: { status: "True", reason: "Migratable", message: "" } },
  othersActive: [],
  source: running,
  nowIso: "2026-12-02T14:00:00Z",
  ...over,
});
const reasonOf = (f: MigrationFacts) => decideMigration(f).status.reason;

describe("decideMigration", () => {
  it("refuses bad input with a reason and an Event, starting nothing", () => {
    expect(reasonOf(facts({ vm: undefined }))).toBe("VM_NOT_FOUND");
    expect(reasonOf(facts({ source: { ...running, phase: "Succeeded" } }))).toBe("VM_NOT_RUNNING");
    expect(reasonOf(facts({ othersActive: ["m1"] }))).toBe("ALREADY_MIGRATING");
    const no = {
      status: "False" as const,
      reason: "LocalDisk" as const,
      message: "volume root is a containerDisk",
    };
    expect(reasonOf(facts({ vm: { running: true, migratable: no } }))).toBe("NOT_MIGRATABLE");
    expect(reasonOf(facts({ spec: { vmName: "web", targetNode: "nope" } }))).toBe("NODE_NOT_FOUND");
    const cordoned = facts({
      spec: { vmName: "web", targetNode: "n2" },
      targetNode: { unschedulable: true },
    });
    expect(reasonOf(cordoned)).toBe("NODE_UNSCHEDULABLE");
    const same = facts({
      spec: { vmName: "web", targetNode: "node-1" },
      targetNode: { unschedulable: false },
    });
    expect(reasonOf(same)).toBe("SAME_NODE");
    const d = decideMigration(facts({ vm: undefined }));
    expect(d.status.phase).toBe("Failed");
    expect(d.actions).toEqual([
      expect.objectContaining({ kind: "event", type: "Warning", reason: "MigrationFailed" }),
    ]);
  });

  it("walks Pending → Scheduling → TargetReady → Running → Succeeded", () => {
    const a = decideMigration(facts({}));
    expect(a.status).toMatchObject({ phase: "Pending", source: { pod: running.name, node: "node-1" } });
    const b = decideMigration(facts({ status: a.status }));
    expect(b.status.phase).toBe("Scheduling");
    expect(b.actions[0]).toEqual({ kind: "create-target-pod" });
    const target = { name: "web-migration-m1", node: "node-2", phase: "Running" as const, ip: "10.0.1.7" };
    const waiting = decideMigration(facts({ status: b.status, target: { ...target, phase: "Pending" } }));
    expect(waiting).toMatchObject({ status: { phase: "Scheduling" }, actions: [] });
    const c = decideMigration(
      facts({ status: b.status, target, targetLauncher: { role: "target", state: "idle" } }),
    );
    expect(c.status).toMatchObject({
      phase: "TargetReady",
      target: { pod: target.name, address: "10.0.1.7" },
    });
    expect(c.actions[0]).toEqual({
      kind: "exec",
      pod: "target",
      verb: "listen",
      request: { address: "10.0.1.7" },
    });
    const d = decideMigration(
      facts({ status: c.status, target, spec: { vmName: "web", settings: { autoConverge: false } } }),
    );
    expect(d.actions[0]).toEqual({
      kind: "exec",
      pod: "source",
      verb: "start",
      request: { address: "10.0.1.7", settings: { autoConverge: false } },
    });
    const progress = { transferredBytes: 10, remainingBytes: 90, iterations: 1 };
    const e = decideMigration(
      facts({ status: d.status, target, sourceLauncher: { role: "source", state: "running", progress } }),
    );
    expect(e.status.progress).toMatchObject(progress);
    const done = {
      ...running,
      phase: "Succeeded" as const,
      terminationMessage: "migrated: x; downtime_ms=7 transferred_bytes=100",
    };
    const f = decideMigration(facts({ status: e.status, target, source: done }));
    expect(f.status).toMatchObject({
      phase: "Succeeded",
      progress: { downtimeMilliseconds: 7, transferredBytes: 100, remainingBytes: 0 },
    });
    // Once Succeeded is written, the source pod that handed over goes (the VM reconciler leaves it to us).
    expect(decideMigration(facts({ status: f.status, target, source: done })).actions).toEqual([
      { kind: "delete-source-pod" },
    ]);
    expect(decideMigration(facts({ status: f.status, target, source: undefined })).actions).toEqual([]);
    expect(decideMigration(facts({ status: d.status, target, source: undefined })).status.reason).toBe(
      "SOURCE_GONE",
    );
  });

  it("fails or cancels with the target removed and the source untouched", () => {
    const target = { name: "t", node: "node-2", phase: "Running" as const, ip: "10.0.1.7" };
    const runningStatus = { phase: "Running" as const };
    const failed = decideMigration(
      facts({
        status: runningStatus,
        target,
        sourceLauncher: { role: "source", state: "failed", reason: "MIGRATION_FAILED", message: "reset" },
      }),
    );
    expect(failed.status).toMatchObject({ phase: "Failed", reason: "MIGRATION_FAILED" });
    expect(failed.actions[0]).toEqual({ kind: "delete-target-pod" });
    const asked = facts({
      status: runningStatus,
      target,
      spec: { vmName: "web", cancel: true },
      sourceLauncher: { role: "source", state: "running" },
    });
    expect(decideMigration(asked).actions[0]).toEqual({ kind: "exec", pod: "source", verb: "cancel" });
    const gone = decideMigration({ ...asked, sourceLauncher: { role: "source", state: "cancelled" } });
    expect(gone.status.phase).toBe("Cancelled");
    expect(gone.actions[0]).toEqual({ kind: "delete-target-pod" });
    const early = decideMigration(
      facts({ status: { phase: "Scheduling" }, target, spec: { vmName: "web", cancel: true } }),
    );
    expect(early.status.phase).toBe("Cancelled");
    const stuck = facts({
      status: { phase: "Scheduling" },
      target: { ...target, phase: "Pending" },
      targetPendingMs: TARGET_SCHEDULING_TIMEOUT_MS + 1,
    });
    expect(decideMigration(stuck).status.reason).toBe("TARGET_UNSCHEDULABLE");
    // A final failed migration whose target is still there removes it, on every pass until it is gone.
    expect(decideMigration(facts({ status: failed.status, target })).actions).toEqual([
      { kind: "delete-target-pod" },
    ]);
  });
});

describe("buildTargetPod", () => {
  const source: V1Pod = {
    metadata: {
      name: "vireo-launcher-web",
      namespace: "ns",
      uid: "u1",
      resourceVersion: "9",
      labels: { "vireo.dev/vm": "web" },
      annotations: {
        [ANNOTATION_LAUNCHER_CONFIG]: JSON.stringify({ version: "v1", memory: { guestBytes: 1 } }),
      },
      ownerReferences: [
        { apiVersion: "vireo.dev/v1alpha1", kind: "VirtualMachine", name: "web", uid: "vm1" },
      ],
    },
    spec: {
      nodeName: "node-1",
      containers: [{ name: "launcher", image: "x" }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
          },
        },
      },
    },
    status: { phase: "Running" },
  };
  it("copies the VM's pod as an incoming target away from the source node, keeping the user's affinity", () => {
    const t = buildTargetPod(source, { name: "m1", sourceNode: "node-1" });
    expect(t.metadata).toMatchObject({
      name: "vireo-target-m1",
      labels: { "vireo.dev/vm": "web", "vireo.dev/migration": "m1" },
      ownerReferences: source.metadata!.ownerReferences,
    });
    expect(t.metadata!.uid).toBeUndefined();
    expect(t.status).toBeUndefined();
    expect(t.spec!.nodeName).toBeUndefined();
    expect(JSON.parse(t.metadata!.annotations![ANNOTATION_LAUNCHER_CONFIG]!)).toEqual({
      version: "v1",
      memory: { guestBytes: 1 },
      migration: { incoming: true },
    });
    expect(
      t.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms,
    ).toEqual([
      {
        matchExpressions: [
          { key: "zone", operator: "In", values: ["a"] },
          { key: "kubernetes.io/hostname", operator: "NotIn", values: ["node-1"] },
        ],
      },
    ]);
    expect(source.spec!.nodeName).toBe("node-1"); // the source is not modified
  });
  it("pins the target to spec.targetNode", () => {
    const t = buildTargetPod(
      { ...source, spec: { containers: [] } },
      { name: "m2", sourceNode: "n1", targetNode: "n2" },
    );
    expect(
      t.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms,
    ).toEqual([{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n2"] }] }]);
  });
});

describe("recordMigration", () => {
  it("counts final phases once, observes duration, downtime and bytes of successes, tracks starts", async () => {
    const registry = new Registry();
    const m = migrationMetrics(registry);
    const ref = { namespace: "ns", name: "m1" };
    const start = "2026-12-02T14:00:00Z";
    recordMigration(m, ref, undefined, { phase: "Pending", startTime: start });
    expect(
      await registry.getSingleMetricAsString("vireo_operator_migration_started_timestamp_seconds"),
    ).toContain(`{namespace="ns",name="m1"} ${Date.parse(start) / 1000}`);
    const done = {
      phase: "Succeeded" as const,
      startTime: start,
      endTime: "2026-12-02T14:00:08Z",
      progress: { downtimeMilliseconds: 37, transferredBytes: 1000 },
    };
    recordMigration(m, ref, { phase: "Running", startTime: start }, done);
    recordMigration(m, ref, done, done); // a later write of the same final status counts nothing
    recordMigration(m, { namespace: "ns", name: "bad" }, undefined, {
      phase: "Failed",
      reason: "VM_NOT_FOUND",
    });
    const text = await registry.metrics();
    expect(text).toContain('vireo_operator_migrations_total{result="Succeeded"} 1');
    expect(text).toContain('vireo_operator_migrations_total{result="Failed"} 1');
    expect(text).toContain('vireo_operator_migration_duration_seconds_sum{result="Succeeded"} 8');
    expect(text).toContain('vireo_operator_migration_downtime_seconds_bucket{le="0.025"} 0');
    expect(text).toContain('vireo_operator_migration_downtime_seconds_bucket{le="0.05"} 1');
    expect(text).toContain("vireo_operator_migration_transferred_bytes_total 1000");
    expect(text).not.toContain('name="m1"');
  });
});
