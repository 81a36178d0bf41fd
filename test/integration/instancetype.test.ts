// Instancetypes and preferences on a real kube-apiserver with the operator in-process: the generated CRDs and
// the chart's shipped set are accepted, the API server refuses what an instancetype owns, the operator pins
// the first-used instancetype as a ControllerRevision, an edited instancetype leaves the VM alone, and moving
// the VM to the new version (clearing revisionName) reports RestartRequired. No kubelet: pods stay Pending.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException } from "@kubernetes/client-node";
import { parse } from "yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { COMMON_INSTANCETYPES } from "../../crds/api/instancetype-common.ts";
import { COMMON_PREFERENCES } from "../../crds/api/preference-common.ts";
import { parseQuantity } from "../../crds/api/quantity.ts";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import {
  Cluster,
  condition,
  expectThat,
  installCrd,
  repoRoot,
  startTestOperator,
  type ApiVm,
} from "./operator-kit.ts";

const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;
const wait = { timeoutMs: 60_000, intervalMs: 200 };
const g = { group: "vireo.dev", version: "v1alpha1" };
const PROFILE_CRDS = [
  "virtualmachineinstancetypes",
  "virtualmachineclusterinstancetypes",
  "virtualmachinepreferences",
  "virtualmachineclusterpreferences",
];

beforeAll(async () => {
  await installCrd(cp());
  for (const plural of PROFILE_CRDS)
    await cp().kubectl(["apply", "--server-side", "-f", join(repoRoot, `crds/vireo.dev_${plural}.yaml`)]);
  for (const plural of PROFILE_CRDS)
    await eventually(
      () => cp().kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${plural}.vireo.dev`]),
      { ...wait, description: `${plural} established` },
    );
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  operator = await startTestOperator(cp(), opNs.name);
});
afterAll(async () => {
  await operator?.stop();
  await opNs?.delete();
  for (const plural of PROFILE_CRDS)
    await cp().kubectl(["delete", "--ignore-not-found", `crd/${plural}.vireo.dev`]);
});
beforeEach(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "it");
});
afterEach(async () => {
  await cluster.cleanNamespace(ns.name);
  await cp().kubectl(["delete", "controllerrevisions", "--all", "-n", ns.name]);
  await ns.delete();
});

/** The chart's shipped set, as `helm template` renders it, applied to the API server. */
async function installShippedSet(): Promise<number> {
  const out = await cp().helm([
    "template",
    "t",
    join(repoRoot, "charts/vireo"),
    "--show-only",
    "templates/common-profiles.yaml",
  ]);
  const file = join(tmpdir(), `vireo-profiles-${process.pid}.yaml`);
  writeFileSync(file, out.stdout);
  await cp().kubectl(["apply", "--server-side", "-f", file]);
  return out.stdout.split("\n---\n").filter((d) => d.includes("kind:")).length;
}

async function clusterInstancetype(name: string): Promise<{ spec: { memory: { guest: string } } }> {
  return (await cluster.custom.getClusterCustomObject({
    ...g,
    plural: "virtualmachineclusterinstancetypes",
    name,
  })) as {
    spec: { memory: { guest: string } };
  };
}

async function patchClusterInstancetype(name: string, memory: string): Promise<void> {
  await cp().kubectl([
    "patch",
    "virtualmachineclusterinstancetypes",
    name,
    "--type=merge",
    "-p",
    JSON.stringify({ spec: { memory: { guest: memory } } }),
  ]);
}

const vmSpec = (extra: Record<string, unknown> = {}) => ({
  memory: undefined,
  runStrategy: "Always",
  instancetype: { name: "u1.small" },
  preference: { name: "windows.10" },
  disks: [{ name: "root" }],
  volumes: [{ name: "root", containerDisk: { image: "localhost/guest:test" } }],
  ...extra,
});

type Expanded = ApiVm & {
  spec: { instancetype?: { revisionName?: string }; preference?: { revisionName?: string } };
  status?: {
    expandedSpec?: {
      memory?: { guest?: string };
      cpu?: { sockets?: number };
      disks?: { bus?: string }[];
      interfaces?: { model?: string }[];
      firmware?: unknown;
    };
  };
};

describe("instancetypes and preferences on the API server", () => {
  it("the shipped set is accepted by the generated CRDs (rendered by the chart)", async () => {
    const n = await installShippedSet();
    expect(n).toBe(COMMON_INSTANCETYPES.length + COMMON_PREFERENCES.length);
    const its = (await cluster.custom.listClusterCustomObject({
      ...g,
      plural: "virtualmachineclusterinstancetypes",
    })) as { items: { metadata: { name: string } }[] };
    const prefs = (await cluster.custom.listClusterCustomObject({
      ...g,
      plural: "virtualmachineclusterpreferences",
    })) as { items: { metadata: { name: string } }[] };
    expect(its.items.map((i) => i.metadata.name).sort()).toEqual(
      COMMON_INSTANCETYPES.map((i) => i.name).sort(),
    );
    expect(prefs.items.map((i) => i.metadata.name).sort()).toEqual(
      COMMON_PREFERENCES.map((i) => i.name).sort(),
    );
  });

  it("refuses a VM that sets memory or vCPUs beside an instancetype, naming the field", async () => {
    for (const [extra, field] of [
      [{ memory: { guest: "1Gi" } }, "spec.memory"],
      [{ cpu: { cores: 2 } }, "spec.cpu"],
    ] as const) {
      const err = await cluster.createVm(ns.name, "bad", vmSpec(extra)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiException);
      const body = JSON.parse(String((err as ApiException<string>).body)) as {
        details?: { causes?: { field?: string; message?: string }[] };
      };
      expect(body.details?.causes?.map((c) => c.field)).toContain(field);
    }
    const noMemory = await cluster.createVm(ns.name, "plain", { memory: undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((noMemory as ApiException<string>).body)).toMatch(
      /memory is required unless an instancetype gives it/,
    );
  });

  it("pins the instancetype and preference, expands into status and the pod, and keeps the pin when the instancetype changes", async () => {
    await installShippedSet();
    await cluster.createVm(ns.name, "win", vmSpec());
    const pinned = await eventually(async () => {
      const vm = (await cluster.vm(ns.name, "win")) as Expanded;
      expectThat(
        Boolean(vm.spec.instancetype?.revisionName && vm.spec.preference?.revisionName),
        "both revisions pinned",
      );
      expectThat(vm.status?.expandedSpec?.memory?.guest === "2Gi", "expanded spec in status");
      return vm;
    }, wait);
    expect(pinned.spec.instancetype!.revisionName).toMatch(/^win-u1\.small-[0-9a-f]{10}$/);
    expect(pinned.status!.expandedSpec).toMatchObject({
      cpu: { sockets: 1, cores: 1, threads: 1 },
      disks: [{ name: "root", bus: "sata" }],
      interfaces: [{ name: "default", model: "e1000e" }],
      firmware: { uefi: { secureBoot: true } },
    });
    const rev = JSON.parse(
      (
        await cp().kubectl([
          "get",
          "controllerrevision",
          "-n",
          ns.name,
          pinned.spec.instancetype!.revisionName!,
          "-o",
          "json",
        ])
      ).stdout,
    ) as {
      data: { kind: string; spec: { memory: { guest: string } } };
      metadata: { ownerReferences: { uid: string }[] };
    };
    expect(rev.data.kind).toBe("VirtualMachineClusterInstancetype");
    expect(rev.data.spec.memory.guest).toBe("2Gi");
    expect(rev.metadata.ownerReferences[0]!.uid).toBe(pinned.metadata.uid);

    const pod = await eventually(async () => {
      const p = await cluster.pod(ns.name, "vireo-launcher-win");
      expectThat(p !== undefined, "launcher pod created");
      return p!;
    }, wait);
    const request =
      parseQuantity(
        String(pod.spec!.containers.find((c) => c.name === "launcher")!.resources!.requests!.memory),
      ) ?? 0;
    expect(request).toBeGreaterThan(2 * 2 ** 30); // 2Gi of guest memory plus overhead

    // `vireo expand` shows the same, from the pinned revisions.
    const cli = spawnSync(
      process.execPath,
      [join(repoRoot, "bin/vireo.js"), "expand", "win", "-n", ns.name, "--kubeconfig", cp().kubeconfigPath],
      { encoding: "utf8" },
    );
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    expect((parse(cli.stdout) as { spec: unknown }).spec).toEqual(
      expect.objectContaining({ memory: { guest: "2Gi" }, firmware: { uefi: { secureBoot: true } } }),
    );

    // The instancetype is edited: the VM keeps its pinned revision, its pod and its expanded spec.
    await patchClusterInstancetype("u1.small", "3Gi");
    expect((await clusterInstancetype("u1.small")).spec.memory.guest).toBe("3Gi");
    await cluster.patchVm(ns.name, "win", { metadata: { annotations: { poke: "1" } } }); // a reconcile for sure
    await eventually(async () => {
      const vm = (await cluster.vm(ns.name, "win")) as Expanded;
      expectThat(vm.status?.observedGeneration === vm.metadata.generation, "reconciled after the edit");
    }, wait);
    const after = (await cluster.vm(ns.name, "win")) as Expanded;
    expect(after.spec.instancetype!.revisionName).toBe(pinned.spec.instancetype!.revisionName);
    expect(after.status!.expandedSpec!.memory!.guest).toBe("2Gi");
    expect(condition(after, "RestartRequired")?.status ?? "False").toBe("False");
    expect((await cluster.pod(ns.name, "vireo-launcher-win"))!.metadata!.uid).toBe(pod.metadata!.uid);

    // The owner moves the VM to the instancetype's current version: a new revision, and RestartRequired.
    await cluster.patchVm(ns.name, "win", { spec: { instancetype: { revisionName: null } } });
    const moved = await eventually(async () => {
      const vm = (await cluster.vm(ns.name, "win")) as Expanded;
      expectThat(
        Boolean(vm.spec.instancetype?.revisionName) &&
          vm.spec.instancetype!.revisionName !== pinned.spec.instancetype!.revisionName,
        "re-pinned",
      );
      expectThat(condition(vm, "RestartRequired")?.status === "True", "RestartRequired");
      return vm;
    }, wait);
    expect(moved.status!.expandedSpec!.memory!.guest).toBe("3Gi");
    const again = spawnSync(
      process.execPath,
      [
        join(repoRoot, "bin/vireo.js"),
        "expand",
        "win",
        "-n",
        ns.name,
        "--kubeconfig",
        cp().kubeconfigPath,
        "-o",
        "json",
      ],
      { encoding: "utf8" },
    );
    expect((JSON.parse(again.stdout) as { spec: { memory: unknown } }).spec.memory).toEqual({ guest: "3Gi" });
    await patchClusterInstancetype("u1.small", "2Gi");
  });

  it("reports a conflict CEL cannot see with its field path, and waits for a missing instancetype", async () => {
    await cluster.custom.createClusterCustomObject({
      ...g,
      plural: "virtualmachineclusterinstancetypes",
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachineClusterInstancetype",
        metadata: { name: `pinned-model-${ns.name}` },
        spec: { cpu: { guest: 1, model: "host-passthrough" }, memory: { guest: "256Mi" } },
      },
    });
    try {
      await cluster.createVm(
        ns.name,
        "model",
        vmSpec({
          instancetype: { name: `pinned-model-${ns.name}` },
          preference: undefined,
          cpu: { model: "Skylake-Server" },
        }),
      );
      await eventually(async () => {
        const vm = await cluster.vm(ns.name, "model");
        const ready = condition(vm, "Ready");
        expectThat(vm?.status?.printableStatus === "InvalidSpec", "InvalidSpec");
        expectThat(
          /InstancetypeConflict: spec\.cpu\.model: the CPU model is set by the instancetype/.test(
            ready?.message ?? "",
          ),
          `message: ${ready?.message}`,
        );
      }, wait);

      const name = `later-${ns.name}`;
      await cluster.createVm(
        ns.name,
        "later",
        vmSpec({ instancetype: { name, kind: "VirtualMachineClusterInstancetype" }, preference: undefined }),
      );
      await eventually(async () => {
        const vm = await cluster.vm(ns.name, "later");
        expectThat(
          /spec\.instancetype\.name: VirtualMachineClusterInstancetype later-.* not found/.test(
            condition(vm, "Ready")?.message ?? "",
          ),
          "not found",
        );
      }, wait);
      await cluster.custom.createClusterCustomObject({
        ...g,
        plural: "virtualmachineclusterinstancetypes",
        body: {
          apiVersion: "vireo.dev/v1alpha1",
          kind: "VirtualMachineClusterInstancetype",
          metadata: { name },
          spec: { cpu: { guest: 2 }, memory: { guest: "512Mi" } },
        },
      });
      // Without a watch on instancetypes the operator looks again after 10 s.
      await eventually(
        async () => {
          const vm = (await cluster.vm(ns.name, "later")) as Expanded;
          expectThat(vm.status?.expandedSpec?.cpu?.sockets === 2, "expanded once the instancetype exists");
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      for (const n of [`pinned-model-${ns.name}`, `later-${ns.name}`])
        await cp().kubectl(["delete", "--ignore-not-found", "virtualmachineclusterinstancetypes", n]);
    }
  });
});
