// 200 VMs created at once against a real kube-apiserver: every VM converges to exactly one launcher pod and
// honest status, then to Running once the stand-in kubelet runs the pods, then away on deletion. Prints the
// times it took (figures for the benchmark issue, not assertions: the machine is shared and slow).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, type OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, expectThat, installCrd, type ApiVm } from "./operator-kit.ts";

const COUNT = 200;
const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let ns: TestNamespace;

beforeAll(async () => {
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  ns = await createTestNamespace(cp().kubeConfig, "scale");
  operator = await startOperator(
    {
      launcherImage: "localhost/vireo-launcher:test",
      emulation: true,
      leaderElect: false,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      logLevel: "warn",
    },
    cp().kubeConfig,
  );
});

afterAll(async () => {
  await operator?.stop();
  if (ns) {
    await cluster.cleanNamespace(ns.name);
    await ns.delete();
  }
});

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function listVms(): Promise<ApiVm[]> {
  const list = (await cluster.custom.listNamespacedCustomObject({
    group: "vireo.dev",
    version: "v1alpha1",
    plural: "virtualmachines",
    namespace: ns.name,
  })) as { items: ApiVm[] };
  return list.items;
}

async function metric(name: string): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${operator.httpPort}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("; ");
}

describe(`${COUNT} VMs at once`, () => {
  it("each converges to exactly one pod and Running, and all go away on deletion", async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `vm-${String(i).padStart(3, "0")}`);
    const t0 = Date.now();
    await pool(names, 32, (n) => cluster.createVm(ns.name, n, {}));
    const created = Date.now();

    await eventually(
      async () => {
        const vms = await listVms();
        const done = vms.filter((v) => v.status?.launcherPod && v.metadata.finalizers?.length);
        expectThat(done.length === COUNT, `${done.length}/${COUNT} VMs with a pod and status`);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const converged = Date.now();

    const pods = await cluster.pods(ns.name);
    const vms = await listVms();
    const owners = new Map<string, number>();
    for (const p of pods) {
      const uid = p.metadata?.ownerReferences?.[0]?.uid ?? "";
      owners.set(uid, (owners.get(uid) ?? 0) + 1);
    }
    expect(pods).toHaveLength(COUNT);
    expect(vms.every((v) => owners.get(v.metadata.uid) === 1)).toBe(true);

    await pool(
      pods.map((p) => p.metadata!.name!),
      32,
      (p) => cluster.podRunning(ns.name, p),
    );
    const kubeletDone = Date.now();
    await eventually(
      async () => {
        const running = (await listVms()).filter(
          (v) => v.status?.printableStatus === "Running" && v.status.ready,
        );
        expectThat(running.length === COUNT, `${running.length}/${COUNT} Running`);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const allRunning = Date.now();
    expect((await cluster.pods(ns.name)).length).toBe(COUNT);

    const t3 = Date.now();
    await pool(names, 32, (n) => cluster.deleteVm(ns.name, n));
    await eventually(
      async () => {
        const left = (await listVms()).length;
        expectThat(left === 0, `${left} VMs left`);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const deleted = Date.now();
    expect(await cluster.pods(ns.name)).toHaveLength(0);

    console.log(
      JSON.stringify({
        vms: COUNT,
        createRequestsMs: created - t0,
        createdToAllPodsAndStatusMs: converged - t0,
        podsRunningToAllVmsRunningMs: allRunning - kubeletDone,
        deleteToAllGoneMs: deleted - t3,
        reconcileTotal: await metric("vireo_operator_reconcile_total"),
        retries: await metric("vireo_operator_workqueue_retries_total"),
        reconcileSeconds: await metric("vireo_operator_reconcile_duration_seconds_sum"),
        eventsDropped: await metric("vireo_operator_events_dropped_total"),
        testProcessRssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      }),
    );
  });
});
