/**
 * The migration controller as it runs (operator/migration/run.ts: informer → queue → reconcile) on a real
 * kube-apiserver: migrations are picked up from the watch, bad ones refused with a reason, a good one turns
 * into a target pod off the source node. No kubelet here, so the migration stops at Scheduling; the
 * hand-over itself is migration-controller.test.ts's.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATION_LAUNCHER_CONFIG } from "../../crds/contract/index.ts";
import { KubeClient, PATCH } from "../../lib/kube/client.ts";
import { systemClock } from "../../lib/clock.ts";
import { podsExec } from "../../operator/migration/exec.ts";
import { MigrationInformers, migrationReconcile } from "../../operator/migration/run.ts";
import { Controller } from "../../operator/controller.ts";
import type { VmEvent } from "../../operator/kube/events.ts";
import { createMetrics } from "../../operator/runtime/metrics.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));

describe("migration controller running on informers and a queue", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let client: KubeClient;
  let ctl: Controller | undefined;
  let informers: MigrationInformers | undefined;
  const events: { name: string; e: VmEvent }[] = [];
  const api = (p: string) => `/apis/vireo.dev/v1alpha1/namespaces/${ns.name}/${p}`;
  const core = (p: string) => `/api/v1/namespaces/${ns.name}/${p}`;
  const post = (path: string, body: object) => client.request("POST", path, { body });
  const patchStatus = (path: string, status: object) =>
    client.request("PATCH", `${path}/status`, { body: { status }, contentType: PATCH.merge });
  const phaseOf = async (name: string) =>
    (
      await client.request<{ status?: { phase?: string; reason?: string } }>(
        "GET",
        api(`virtualmachinemigrations/${name}`),
      )
    ).status;

  beforeAll(async () => {
    for (const f of ["vireo.dev_virtualmachines.yaml", "vireo.dev_virtualmachinemigrations.yaml"])
      await cp().kubectl(["apply", "--server-side", "-f", join(repo, "crds", f)]);
    client = await KubeClient.connect(cp().kubeConfig);
    ns = await createTestNamespace(cp().kubeConfig, "vireo-migop");
    await eventually(() => client.request("GET", api("virtualmachinemigrations")), { timeoutMs: 60_000 });
    await client
      .request("POST", "/api/v1/nodes", {
        body: { metadata: { name: "migop-cordoned" }, spec: { unschedulable: true } },
      })
      .catch(() => {});
    // As operator/wiring.ts puts it together: informers feeding the operator's queue, which runs the reconcile.
    const log = pino({ level: "silent" });
    const queue = new Controller({
      reconcile: migrationReconcile({
        client,
        clock: systemClock,
        defaultBinding: "bridge",
        exec: podsExec(cp().kubeConfig),
        events: { record: (ref, e) => events.push({ name: ref.name, e }) },
      }),
      workers: 1,
      retryBaseMs: 500,
      retryMaxMs: 5_000,
      clock: systemClock,
      log,
      metrics: createMetrics(() => new Map()),
    });
    ctl = queue;
    informers = new MigrationInformers({
      client,
      clock: systemClock,
      log,
      namespaces: [ns.name],
      enqueue: (k) => queue.add(k),
    });
    await informers.start();
    queue.start(informers.keys());
  }, 300_000);
  afterAll(async () => {
    await ctl?.stop();
    await informers?.stop();
    await client?.request("DELETE", "/api/v1/nodes/migop-cordoned").catch(() => {});
    await ns?.delete();
  });

  it("refuses bad migrations from the watch and creates the target pod of a good one", async () => {
    await post(core("persistentvolumeclaims"), {
      metadata: { name: "shared" },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "16Mi" } } },
    });
    await post(api("virtualmachines"), {
      apiVersion: "vireo.dev/v1alpha1",
      kind: "VirtualMachine",
      metadata: { name: "web" },
      spec: {
        memory: { guest: "128Mi" },
        disks: [{ name: "root" }],
        volumes: [{ name: "root", persistentVolumeClaim: { claimName: "shared" } }],
        interfaces: [{ name: "default", binding: "masquerade" }],
      },
    });
    await patchStatus(api("virtualmachines/web"), { phase: "Running", launcherPod: "vireo-launcher-web" });
    await post(core("pods"), {
      metadata: {
        name: "vireo-launcher-web",
        labels: { "vireo.dev/vm": "web" },
        annotations: { [ANNOTATION_LAUNCHER_CONFIG]: '{"version":"v1"}' },
      },
      spec: { nodeName: "migop-node-1", containers: [{ name: "launcher", image: "vireo-launcher" }] },
    });
    await patchStatus(core("pods/vireo-launcher-web"), { phase: "Running", podIP: "10.0.0.5" });
    const migration = (name: string, spec: object) =>
      post(api("virtualmachinemigrations"), {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachineMigration",
        metadata: { name },
        spec,
      });

    await migration("ghost", { vmName: "nobody" });
    await migration("cordoned", { vmName: "web", targetNode: "migop-cordoned" });
    for (const [name, reason] of [
      ["ghost", "VM_NOT_FOUND"],
      ["cordoned", "NODE_UNSCHEDULABLE"],
    ] as const)
      await eventually(async () => expect(await phaseOf(name)).toMatchObject({ phase: "Failed", reason }), {
        timeoutMs: 60_000,
      });

    await migration("good", { vmName: "web" });
    const target = await eventually(() => client.request<V1Pod>("GET", core("pods/vireo-target-good")), {
      timeoutMs: 60_000,
    });
    expect(JSON.parse(target.metadata!.annotations![ANNOTATION_LAUNCHER_CONFIG]!)).toEqual({
      version: "v1",
      migration: { incoming: true },
    });
    expect(
      target.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
        .nodeSelectorTerms[0]!.matchExpressions,
    ).toContainEqual({
      key: "kubernetes.io/hostname",
      operator: "NotIn",
      values: ["migop-node-1"],
    });
    await eventually(async () => expect((await phaseOf("good"))?.phase).toBe("Scheduling"), {
      timeoutMs: 60_000,
    });
    expect(events.map((e) => `${e.name}:${e.e.reason}`)).toEqual(
      expect.arrayContaining([
        "ghost:MigrationFailed",
        "cordoned:MigrationFailed",
        "good:MigrationAccepted",
        "good:TargetCreated",
      ]),
    );
  }, 300_000);
});
