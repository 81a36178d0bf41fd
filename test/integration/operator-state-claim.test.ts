// The per-VM state claim (persistent UEFI variables) against a real kube-apiserver, with the operator in-process.
// No kubelet, PV controller or garbage collector runs: the test binds the claim, plays the kubelet for the pod,
// and checks that the operator itself deletes the claim with the VM.
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { stateClaimName } from "../../crds/contract/index.ts";
import type { OperatorHandle } from "../../operator/operator.ts";
import { buildStateClaim } from "../../operator/pod/state-claim.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import {
  Cluster,
  condition,
  expectThat,
  installCrd,
  repoRoot,
  type ApiVm,
  startTestOperator,
} from "./operator-kit.ts";

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
  ns = await createTestNamespace(cp().kubeConfig, "state");
});
afterEach(async () => {
  await cluster.cleanNamespace(ns.name);
  await ns.delete();
});

const wait = { timeoutMs: 60_000, intervalMs: 200 };
const launcher = (vm: string) => `vireo-launcher-${vm}`;
const persistent = { firmware: { uefi: { persistent: true } } };

async function claim(name: string): Promise<V1PersistentVolumeClaim | undefined> {
  try {
    return await cluster.core.readNamespacedPersistentVolumeClaim({ namespace: ns.name, name });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ok: (t: T) => boolean): Promise<T> {
  return eventually(
    async () => {
      const t = await get();
      expectThat(t !== undefined && ok(t), what);
      return t!;
    },
    { ...wait, description: what },
  );
}

const vmWhere = (name: string, ok: (vm: ApiVm) => boolean, what: string) =>
  until(`${name}: ${what}`, () => cluster.vm(ns.name, name), ok);
const podWhere = (vm: string, ok: (p: V1Pod) => boolean, what: string) =>
  until(`${launcher(vm)}: ${what}`, () => cluster.pod(ns.name, launcher(vm)), ok);

/** PVCs carrying a VM's label, as a user would list them. */
async function stateClaims(vm: string): Promise<V1PersistentVolumeClaim[]> {
  const list = await cluster.core.listNamespacedPersistentVolumeClaim({
    namespace: ns.name,
    labelSelector: `vireo.dev/vm=${vm}`,
  });
  return list.items;
}

describe("the state claim of a VM with persistent UEFI variables", () => {
  it("is created once, owned by the VM, kept across a restart, and deleted with the VM", async () => {
    const created = await cluster.createVm(ns.name, "nv", {
      ...persistent,
      stateStorage: { storageClassName: "tiny" },
    });
    const uid = created.metadata.uid;
    const name = stateClaimName("nv");

    // Created by the operator, exactly as the pure builder makes it; the VM waits for it to bind.
    const pvc = await until(
      `claim ${name} exists`,
      () => claim(name),
      () => true,
    );
    const expected = buildStateClaim(parseVirtualMachine({ ...created, status: undefined }));
    expect(pvc.metadata?.labels).toEqual(expected.metadata?.labels);
    expect(pvc.metadata?.ownerReferences).toEqual([
      {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachine",
        name: "nv",
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(pvc.spec).toMatchObject({
      accessModes: ["ReadWriteOnce"],
      volumeMode: "Filesystem",
      storageClassName: "tiny",
      resources: { requests: { storage: "10Mi" } },
    });
    const waiting = await vmWhere(
      "nv",
      (v) => v.status?.printableStatus === "WaitingForVolumeBinding",
      "WaitingForVolumeBinding",
    );
    expect(condition(waiting, "Ready")?.status).toBe("False");

    // The pod mounts the claim; once bound and running the VM is Running.
    const first = await podWhere("nv", () => true, "exists");
    expect(first.spec?.volumes).toContainEqual({
      name: "vm-state",
      persistentVolumeClaim: { claimName: name },
    });
    const mount = first.spec?.containers[0]?.volumeMounts?.find((m) => m.name === "vm-state");
    expect(mount?.mountPath).toBe("/var/lib/vireo-state");
    await cluster.bindPvc(ns.name, name, "10Mi");
    await cluster.podRunning(ns.name, launcher("nv"));
    await vmWhere("nv", (v) => v.status?.printableStatus === "Running", "Running");

    // A restart: a new pod, the same claim (same uid), and no second claim.
    await cluster.bind(ns.name, launcher("nv"));
    const at = "2026-01-01T00:00:00Z";
    await cluster.patchVm(ns.name, "nv", { metadata: { annotations: { "vireo.dev/restartedAt": at } } });
    await podWhere("nv", (p) => Boolean(p.metadata?.deletionTimestamp), "terminating");
    await cluster.finalizePod(ns.name, launcher("nv"));
    const second = await podWhere("nv", (p) => p.metadata?.uid !== first.metadata?.uid, "replaced");
    expect(second.spec?.volumes).toContainEqual({
      name: "vm-state",
      persistentVolumeClaim: { claimName: name },
    });
    await cluster.podRunning(ns.name, launcher("nv"));
    await vmWhere(
      "nv",
      (v) => v.status?.restartedAt === at && v.status?.printableStatus === "Running",
      "restarted",
    );
    expect((await claim(name))?.metadata?.uid).toBe(pvc.metadata?.uid);
    expect((await stateClaims("nv")).map((c) => c.metadata?.uid)).toEqual([pvc.metadata?.uid]);

    // Deleted with the VM: the pod first, then the claim (by the operator: no garbage collector runs here),
    // then the finalizer. kube-apiserver's StorageObjectInUseProtection keeps a deleted claim until the
    // pvc-protection controller (controller-manager, absent here) sees no pod using it: "being deleted" is the
    // operator's part.
    await cluster.bind(ns.name, launcher("nv"));
    await cluster.deleteVm(ns.name, "nv");
    await podWhere("nv", (p) => Boolean(p.metadata?.deletionTimestamp), "terminating");
    expect((await claim(name))?.metadata?.deletionTimestamp).toBeUndefined();
    await cluster.finalizePod(ns.name, launcher("nv"));
    await until(
      `VM gone`,
      async () => ((await cluster.vm(ns.name, "nv")) ? undefined : true),
      () => true,
    );
    const gone = await claim(name);
    expect(gone === undefined || Boolean(gone.metadata?.deletionTimestamp)).toBe(true);
  });

  it("is, as its golden file, accepted by the API server (server-side dry run)", async () => {
    const file = join(repoRoot, "test/golden/state-claim/persistent-uefi.yaml");
    const pvc = parse(readFileSync(file, "utf8")) as V1PersistentVolumeClaim;
    pvc.metadata!.namespace = ns.name;
    const r = await cluster.core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: pvc,
      dryRun: "All",
    });
    expect(r.spec?.resources?.requests?.storage).toBe("10Mi");
  });

  it("is not made for a VM without persistent variables, nor taken over from another owner", async () => {
    await cluster.createVm(ns.name, "plain", { firmware: { uefi: {} } });
    const pod = await podWhere("plain", () => true, "exists");
    expect(pod.spec?.volumes?.some((v) => v.name === "vm-state")).toBe(false);
    expect(await claim(stateClaimName("plain"))).toBeUndefined();

    // A leftover claim of that name (say, a namesake's whose finalizer was removed by hand) is not this VM's.
    await cluster.core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: {
        metadata: { name: stateClaimName("other") },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } },
      },
    });
    await cluster.createVm(ns.name, "other", persistent);
    const vm = await vmWhere(
      "other",
      (v) => v.status?.printableStatus === "ErrorPvcNotFound",
      "refuses the claim",
    );
    expect(condition(vm, "Stalled")).toMatchObject({ status: "True", reason: "StateClaimNotOwned" });
    expect(await cluster.pod(ns.name, launcher("other"))).toBeUndefined();
  });
});
