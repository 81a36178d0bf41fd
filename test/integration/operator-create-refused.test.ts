// A launcher pod the API server will not create, against a real kube-apiserver with the operator in-process:
// a pod without our labels squatting the launcher's name, and a ResourceQuota that refuses every pod. The VM
// says why (Failure condition + Warning event), the operator backs off instead of trying every second, and
// the pod is created once the obstacle is gone.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, condition, expectThat, installCrd, startTestOperator, type ApiVm } from "./operator-kit.ts";

const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;

beforeAll(async () => {
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  operator = await startTestOperator(cp(), opNs.name);
});
afterAll(async () => {
  await operator?.stop();
  await opNs?.delete();
});
beforeEach(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "refused");
});
afterEach(async () => {
  await cluster.cleanNamespace(ns.name);
  await ns.delete();
});

const wait = { timeoutMs: 120_000, intervalMs: 250 };
const attemptOf = (vm: ApiVm | undefined) =>
  Number(/attempt (\d+)/.exec(condition(vm, "Failure")?.message ?? "")?.[1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failureOf(name: string, reason: string): Promise<ApiVm> {
  return eventually(async () => {
    const vm = await cluster.vm(ns.name, name);
    const c = condition(vm, "Failure");
    expectThat(
      c?.status === "True" && c.reason === reason,
      `${name}: Failure ${reason} (${JSON.stringify(vm?.status)})`,
    );
    return vm!;
  }, wait);
}

async function ourPod(name: string, uid: string): Promise<void> {
  await eventually(async () => {
    const p = await cluster.pod(ns.name, `vireo-launcher-${name}`);
    expectThat(p?.metadata?.ownerReferences?.[0]?.uid === uid, "the VM's own launcher pod");
  }, wait);
}

describe("a pod the API server will not create", () => {
  it("a pod without our labels squatting the name: PodNameTaken, backed off, then the VM's pod", async () => {
    await cluster.core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: "vireo-launcher-web" },
        spec: { containers: [{ name: "squat", image: "squatter" }] },
      },
    });
    const vm = await cluster.createVm(ns.name, "web", {});
    const failed = await failureOf("web", "PodNameTaken");
    expect(condition(failed, "Failure")?.message).toMatch(/is not controlled by this VM/);
    await eventually(async () => {
      const e = await cluster.events(ns.name, "web");
      expectThat(
        e.some((x) => x.reason === "PodNameTaken" && x.type === "Warning"),
        "PodNameTaken event",
      );
    }, wait);
    // Before: a create every second. Now the waits double (2, 4, 8 s...): at most 4 attempts in 10 s.
    await sleep(10_000);
    const attempts = attemptOf(await cluster.vm(ns.name, "web"));
    console.log(`squatted name: ${attempts} create attempts in the first ~10 s`);
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(4);

    await cluster.finalizePod(ns.name, "vireo-launcher-web");
    await ourPod("web", vm.metadata.uid);
    await eventually(
      async () => expectThat(!condition(await cluster.vm(ns.name, "web"), "Failure"), "Failure cleared"),
      wait,
    );
  });

  it("refused by a ResourceQuota: FailedCreate with the server's message, then created once it allows", async () => {
    await cluster.core.createNamespacedResourceQuota({
      namespace: ns.name,
      body: { metadata: { name: "no-pods" }, spec: { hard: { pods: "0" } } },
    });
    // No quota controller runs here: write the usage it would, which the quota admission enforces.
    await cluster.core.replaceNamespacedResourceQuotaStatus({
      namespace: ns.name,
      name: "no-pods",
      body: {
        metadata: { name: "no-pods" },
        spec: { hard: { pods: "0" } },
        status: { hard: { pods: "0" }, used: { pods: "0" } },
      },
    });
    const vm = await cluster.createVm(ns.name, "db", {});
    const failed = await failureOf("db", "FailedCreate");
    expect(condition(failed, "Failure")?.message).toMatch(/refused the launcher pod: .*(quota|no-pods)/);
    await eventually(async () => {
      const e = await cluster.events(ns.name, "db");
      expectThat(
        e.some((x) => x.reason === "FailedCreate" && x.type === "Warning"),
        "FailedCreate event",
      );
    }, wait);
    expect(await cluster.pod(ns.name, "vireo-launcher-db")).toBeUndefined();
    await cluster.core.deleteNamespacedResourceQuota({ namespace: ns.name, name: "no-pods" });
    await ourPod("db", vm.metadata.uid);
  });
});
