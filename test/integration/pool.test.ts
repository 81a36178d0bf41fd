// VirtualMachinePool on a real kube-apiserver with the operator in-process: replicas with ordered names, the
// scale subresource driven by the real `kubectl scale`, a deleted replica replaced under its own name, the
// documented scale-in order (newest first, then an explicit list), per-replica DataVolume names, template
// updates, and kstatus's verdict. Replicas are Halted (no kubelet here), which a VM reads as Ready.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { kstatus, kstatusBinary } from "./health-kit.ts";
import { Cluster, expectThat, installCrd, repoRoot, startTestOperator, type ApiVm } from "./operator-kit.ts";

const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;
let judge: string;
const wait = { timeoutMs: 90_000, intervalMs: 250 };
const g = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachinepools" };

beforeAll(async () => {
  judge = await kstatusBinary();
  await installCrd(cp());
  for (const f of ["virtualmachinepools", "datavolumes"])
    await cp().kubectl(["apply", "--server-side", "-f", join(repoRoot, `crds/vireo.dev_${f}.yaml`)]);
  for (const f of ["virtualmachinepools", "datavolumes"])
    await eventually(
      () => cp().kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${f}.vireo.dev`]),
      {
        ...wait,
        description: `${f} established`,
      },
    );
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  operator = await startTestOperator(cp(), opNs.name);
});
afterAll(async () => {
  await operator?.stop();
  await opNs?.delete();
});
beforeEach(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "pool");
});
afterEach(async () => {
  await cp().kubectl(["delete", "virtualmachinepools", "--all", "-n", ns.name, "--wait=false"]);
  await cluster.cleanNamespace(ns.name);
  await cp().kubectl(["delete", "datavolumes", "--all", "-n", ns.name, "--wait=false"]);
  await ns.delete();
});

type Pool = {
  metadata: { name: string; generation: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
    labelSelector?: string;
  };
};

async function pool(): Promise<Pool> {
  return (await cluster.custom.getNamespacedCustomObject({ ...g, namespace: ns.name, name: "web" })) as Pool;
}

/** Replica names (not being deleted), sorted. */
async function replicas(): Promise<string[]> {
  const list = (await cluster.custom.listNamespacedCustomObject({
    group: "vireo.dev",
    version: "v1alpha1",
    plural: "virtualmachines",
    namespace: ns.name,
    labelSelector: "vireo.dev/pool=web",
  })) as { items: ApiVm[] };
  return list.items
    .filter((v) => !v.metadata.deletionTimestamp)
    .map((v) => v.metadata.name)
    .sort();
}

/** Waits until the replicas are exactly `names` and the pool reports them all ready, up to date, observed. */
async function settled(names: string[]): Promise<Pool> {
  return eventually(async () => {
    expect(await replicas()).toEqual(names);
    const p = await pool();
    expectThat(p.status?.observedGeneration === p.metadata.generation, "observed");
    expectThat(
      p.status?.replicas === names.length && p.status?.readyReplicas === names.length,
      `ready: ${JSON.stringify(p.status)}`,
    );
    expectThat(p.status?.updatedReplicas === names.length, "up to date");
    return p;
  }, wait);
}

async function scale(n: number): Promise<void> {
  await cp().kubectl(["scale", "-n", ns.name, "virtualmachinepools/web", `--replicas=${n}`]);
}

describe("VirtualMachinePool", () => {
  it("scales with kubectl scale, replaces a deleted replica, shrinks newest first then by an explicit list, and reads Current to kstatus", async () => {
    await cluster.custom.createNamespacedCustomObject({
      ...g,
      namespace: ns.name,
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachinePool",
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          virtualMachineTemplate: {
            metadata: { labels: { app: "web" } },
            spec: {
              runStrategy: "Halted",
              memory: { guest: "256Mi" },
              dataVolumeTemplates: [
                { metadata: { name: "root" }, spec: { source: { blank: {} }, storage: { size: "64Mi" } } },
              ],
              disks: [{ name: "root" }],
              volumes: [{ name: "root", dataVolume: { name: "root" } }],
            },
          },
        },
      },
    });
    const two = await settled(["web-0", "web-1"]);
    expect(two.status?.labelSelector).toBe("vireo.dev/pool=web");
    const [verdict] = await kstatus(judge, [two]);
    expect(verdict?.status).toBe("Current");

    // Each replica has its own DataVolume.
    const vm0 = (await cluster.vm(ns.name, "web-0")) as ApiVm & {
      spec: { dataVolumeTemplates: { metadata: { name: string } }[]; volumes: unknown[] };
    };
    expect(vm0.spec.dataVolumeTemplates[0]!.metadata.name).toBe("root-0");
    expect(vm0.spec.volumes).toEqual([{ name: "root", dataVolume: { name: "root-0" } }]);
    expect((vm0.metadata as { labels?: Record<string, string> }).labels).toMatchObject({
      app: "web",
      "vireo.dev/pool": "web",
      "vireo.dev/pool-index": "0",
    });

    // The scale subresource, as the HPA reads it.
    const sc = JSON.parse(
      (
        await cp().kubectl([
          "get",
          "--raw",
          `/apis/vireo.dev/v1alpha1/namespaces/${ns.name}/virtualmachinepools/web/scale`,
        ])
      ).stdout,
    ) as {
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    expect(sc).toMatchObject({
      spec: { replicas: 2 },
      status: { replicas: 2, selector: "vireo.dev/pool=web" },
    });

    await scale(4);
    const growing = await pool();
    await settled(["web-0", "web-1", "web-2", "web-3"]);
    // While it grew, kstatus saw it in progress (the generation moved before the replicas existed).
    expect(["InProgress", "Current"]).toContain((await kstatus(judge, [growing]))[0]?.status);

    // A deleted replica comes back under its own name; creation times have one-second resolution, so the
    // replacement is made at least a second after web-2 and web-3 to be the newest without a tie.
    await new Promise((r) => setTimeout(r, 1_100));
    const before = (await cluster.vm(ns.name, "web-1"))!.metadata.uid;
    await cluster.deleteVm(ns.name, "web-1");
    await eventually(async () => {
      const vm = await cluster.vm(ns.name, "web-1");
      expectThat(
        vm !== undefined && vm.metadata.uid !== before && !vm.metadata.deletionTimestamp,
        "web-1 replaced",
      );
    }, wait);
    await settled(["web-0", "web-1", "web-2", "web-3"]);

    // Newest first: the replaced web-1, then web-3 (web-2 and web-3 tie on time; the higher index goes).
    await scale(2);
    await settled(["web-0", "web-2"]);

    // An explicit list goes first.
    await cp().kubectl([
      "patch",
      "-n",
      ns.name,
      "virtualmachinepools/web",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { scaleIn: { first: ["web-0"] } } }),
    ]);
    await scale(1);
    await settled(["web-2"]);

    // A template change reaches the replica.
    await cp().kubectl([
      "patch",
      "-n",
      ns.name,
      "virtualmachinepools/web",
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: { virtualMachineTemplate: { metadata: { labels: { app: "web", tier: "front" } } } },
      }),
    ]);
    await eventually(async () => {
      const vm = await cluster.vm(ns.name, "web-2");
      expectThat(
        (vm?.metadata as { labels?: Record<string, string> } | undefined)?.labels?.tier === "front",
        "template label applied",
      );
    }, wait);
    const done = await settled(["web-2"]);
    expect((await kstatus(judge, [done]))[0]?.status).toBe("Current");
  });
});
