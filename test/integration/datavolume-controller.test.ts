// The DataVolume controller against a real kube-apiserver, with the operator in-process and no kubelet: the
// test binds claims and writes the importer pod's status as a kubelet would (the importer's termination
// message included), and serves the progress endpoint the operator polls on the pod's IP (127.0.0.1 here).
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IMPORTER_PROGRESS_PORT } from "../../crds/importer/config.ts";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, expectThat, installCrd, repoRoot, startTestOperator } from "./operator-kit.ts";

const cp = useControlPlane();
const dvApi = { group: "vireo.dev", version: "v1alpha1", plural: "datavolumes" } as const;
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;
let progressServer: Server;
let percent = 0;

interface ApiDv {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string; name: string }[] };
  status?: {
    phase?: string;
    progress?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

beforeAll(async () => {
  await installCrd(cp());
  await cp().kubectl(["apply", "--server-side", "-f", join(repoRoot, "crds/vireo.dev_datavolumes.yaml")]);
  await eventually(
    () => cp().kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/datavolumes.vireo.dev"]),
    { timeoutMs: 60_000, intervalMs: 200, description: "the DataVolume CRD is established" },
  );
  // The importer's progress endpoint, where the operator looks for it: podIP:9102.
  progressServer = createServer((req, res) => {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ stage: "transfer", percent }));
  });
  await new Promise<void>((r) => progressServer.listen(IMPORTER_PROGRESS_PORT, "127.0.0.1", r));
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  operator = await startTestOperator(cp(), opNs.name);
});
afterAll(async () => {
  await operator?.stop();
  await opNs?.delete();
  await new Promise((r) => progressServer?.close(r));
});
beforeEach(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "dv");
});
afterEach(async () => {
  await cluster.custom
    .deleteCollectionNamespacedCustomObject({ ...dvApi, namespace: ns.name })
    .catch(() => {});
  await cluster.cleanNamespace(ns.name);
  await ns.delete();
});

const wait = { timeoutMs: 60_000, intervalMs: 200 };
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
const dv = (name: string) =>
  cluster.custom.getNamespacedCustomObject({ ...dvApi, namespace: ns.name, name }).then(
    (d) => d as ApiDv,
    () => undefined,
  );
const dvWhere = (name: string, ok: (d: ApiDv) => boolean, what: string) =>
  until(`${name}: ${what}`, () => dv(name), ok);
const claim = (name: string) =>
  cluster.core.readNamespacedPersistentVolumeClaim({ namespace: ns.name, name }).catch(() => undefined);
const pod = (name: string) => cluster.pod(ns.name, name);
const ready = (d: ApiDv) => d.status?.conditions?.find((c) => c.type === "Ready");

async function createDv(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    ...dvApi,
    namespace: ns.name,
    body: { apiVersion: "vireo.dev/v1alpha1", kind: "DataVolume", metadata: { name }, spec },
  });
}

/** The kubelet's part: the importer container runs (podIP 127.0.0.1, where the test serves progress). */
async function importerRunning(name: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await cluster.core.patchNamespacedPodStatus(
    {
      namespace: ns.name,
      name,
      body: {
        status: {
          phase: "Running",
          podIP: "127.0.0.1",
          podIPs: [{ ip: "127.0.0.1" }],
          containerStatuses: [
            {
              name: "importer",
              image: "i",
              imageID: "",
              ready: true,
              restartCount: 0,
              state: { running: { startedAt: now } },
            },
          ],
        },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

/** The importer ended with `result` as its termination message. */
async function importerEnded(name: string, result: Record<string, unknown>): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const ok = result.result === "Succeeded";
  await cluster.core.patchNamespacedPodStatus(
    {
      namespace: ns.name,
      name,
      body: {
        status: {
          phase: ok ? "Succeeded" : "Failed",
          containerStatuses: [
            {
              name: "importer",
              image: "i",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: ok ? 0 : 1,
                  reason: ok ? "Completed" : "Error",
                  message: JSON.stringify(result),
                  startedAt: now,
                  finishedAt: now,
                },
              },
            },
          ],
        },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

const http = { http: { url: "http://images.test/debian.qcow2.xz", checksum: `sha256:${"0".repeat(64)}` } };

describe("DataVolume import", () => {
  it("creates the claim and the importer pod, reports progress, and ends Succeeded with the pod gone", async () => {
    percent = 0;
    await createDv("debian", { source: http, storage: { size: "2Gi" } });
    const pvc = await until(
      "claim created",
      () => claim("debian"),
      () => true,
    );
    expect(pvc.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "DataVolume",
      name: "debian",
      controller: true,
    });
    expect(pvc.spec).toMatchObject({
      accessModes: ["ReadWriteOnce"],
      volumeMode: "Filesystem",
      resources: { requests: { storage: "2Gi" } },
    });
    // The pod is made before the claim binds (WaitForFirstConsumer claims bind only for a pod).
    const p: V1Pod = await until(
      "importer pod created",
      () => pod("vireo-importer-debian"),
      () => true,
    );
    expect(p.spec?.automountServiceAccountToken).toBe(false);
    expect(p.spec?.containers[0]?.securityContext).toMatchObject({
      runAsUser: 107,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    await dvWhere("debian", (d) => d.status?.phase === "ImportScheduled", "ImportScheduled");
    await cluster.bindPvc(ns.name, "debian", "2Gi");
    percent = 37;
    await importerRunning("vireo-importer-debian");
    const running = await dvWhere("debian", (d) => d.status?.progress === "37%", "progress 37%");
    expect(running.status?.phase).toBe("ImportInProgress");
    expect(running.status?.conditions?.find((c) => c.type === "Bound")?.status).toBe("True");
    percent = 81;
    await dvWhere("debian", (d) => d.status?.progress === "81%", "progress 81% (polled again)");
    await importerEnded("vireo-importer-debian", {
      result: "Succeeded",
      reason: "ImportSucceeded",
      message: "imported a qcow2 image of 2147483648 bytes",
      virtualSizeBytes: 2147483648,
    });
    const done = await dvWhere("debian", (d) => d.status?.phase === "Succeeded", "Succeeded");
    expect(done.status?.progress).toBe("100%");
    expect(ready(done)).toMatchObject({
      status: "True",
      message: "imported a qcow2 image of 2147483648 bytes",
    });
    await until(
      "importer pod deleted",
      async () => ((await pod("vireo-importer-debian")) ? undefined : true),
      () => true,
    );
    const events = await cluster.events(ns.name, "debian");
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(["ImportScheduled", "ImportSucceeded"]),
    );
    expect(events.find((e) => e.reason === "ImportSucceeded")?.involvedObject).toMatchObject({
      kind: "DataVolume",
      name: "debian",
    });
  });

  it("a failed import is Failed with the importer's reason, an Event, and no second pod", async () => {
    await createDv("bad", { source: http, storage: { size: "1Gi" } });
    await until(
      "importer pod created",
      () => pod("vireo-importer-bad"),
      () => true,
    );
    await importerEnded("vireo-importer-bad", {
      result: "Failed",
      reason: "ChecksumMismatch",
      message: `sha256 of the download is ${"1".repeat(64)}, expected ${"0".repeat(64)}`,
    });
    const failed = await dvWhere("bad", (d) => d.status?.phase === "Failed", "Failed");
    expect(ready(failed)).toMatchObject({ status: "False", reason: "ChecksumMismatch" });
    const warning = await until(
      "a ChecksumMismatch Event",
      () => cluster.events(ns.name, "bad"),
      (es) => es.some((e) => e.reason === "ChecksumMismatch"),
    );
    expect(warning.find((e) => e.reason === "ChecksumMismatch")?.type).toBe("Warning");
    // Terminal: the failed pod stays for its logs and nothing is re-created.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await pod("vireo-importer-bad"))?.status?.phase).toBe("Failed");
  });

  it("the API server refuses a DataVolume with two sources or a bad checksum, naming the field", async () => {
    await expect(
      createDv("two", { source: { ...http, blank: {} }, storage: { size: "1Gi" } }),
    ).rejects.toThrow(/exactly one of http/);
    await expect(
      createDv("sum", {
        source: { http: { url: "http://x/y", checksum: "md5:1" } },
        storage: { size: "1Gi" },
      }),
    ).rejects.toThrow(/spec.source.http.checksum/);
  });
});

describe("a VM with dataVolumeTemplates", () => {
  it("creates its DataVolume, waits while it imports, and starts on the claim once it Succeeded", async () => {
    await cluster.createVm(ns.name, "web", {
      disks: [{ name: "root", bootOrder: 1 }],
      volumes: [{ name: "root", dataVolume: { name: "web-root" } }],
      dataVolumeTemplates: [
        { metadata: { name: "web-root" }, spec: { source: http, storage: { size: "1Gi" }, format: "qcow2" } },
      ],
    });
    const created = await dvWhere("web-root", () => true, "created from the template");
    expect(created.metadata.ownerReferences?.[0]).toMatchObject({ kind: "VirtualMachine", name: "web" });
    await until(
      "VM Provisioning",
      () => cluster.vm(ns.name, "web"),
      (vm) => ["Provisioning", "WaitingForVolumeBinding"].includes(vm.status?.printableStatus ?? ""),
    );
    await until(
      "importer pod",
      () => pod("vireo-importer-web-root"),
      () => true,
    );
    await cluster.bindPvc(ns.name, "web-root", "1Gi");
    percent = 50;
    await importerRunning("vireo-importer-web-root");
    const provisioning = await until(
      "VM reports the import",
      () => cluster.vm(ns.name, "web"),
      (vm) =>
        vm.status?.printableStatus === "Provisioning" &&
        (vm.status?.conditions ?? []).some((c) => c.message.includes("50%")),
    );
    expect(provisioning.status?.launcherPod).toBeUndefined();
    expect(await pod("vireo-launcher-web")).toBeUndefined();
    await importerEnded("vireo-importer-web-root", {
      result: "Succeeded",
      reason: "ImportSucceeded",
      message: "imported",
    });
    const launcher = await until(
      "launcher pod created",
      () => pod("vireo-launcher-web"),
      () => true,
    );
    expect(launcher.spec?.volumes?.map((v) => v.persistentVolumeClaim?.claimName)).toContain("web-root");
    const config = launcher.metadata?.annotations?.["vireo.dev/launcher-config"] ?? "";
    expect(JSON.parse(config).disks[0].source).toMatchObject({
      kind: "pvcFilesystem",
      claimName: "web-root",
      format: "qcow2",
    });
  });

  it("a failed DataVolume makes the VM DataVolumeError with a Failure condition, and no launcher pod", async () => {
    await cluster.createVm(ns.name, "broken", {
      disks: [{ name: "root" }],
      volumes: [{ name: "root", dataVolume: { name: "broken-root" } }],
      dataVolumeTemplates: [
        {
          metadata: { name: "broken-root" },
          spec: { source: { http: { url: "http://images.test/page" } }, storage: { size: "1Gi" } },
        },
      ],
    });
    await until(
      "importer pod",
      () => pod("vireo-importer-broken-root"),
      () => true,
    );
    await importerEnded("vireo-importer-broken-root", {
      result: "Failed",
      reason: "NotAnImage",
      message: "not a disk image: 1024 bytes of text/html",
    });
    const vm = await until(
      "VM DataVolumeError",
      () => cluster.vm(ns.name, "broken"),
      (v) => v.status?.printableStatus === "DataVolumeError",
    );
    const failure = vm.status?.conditions?.find((c) => c.type === "Failure");
    expect(failure).toMatchObject({ status: "True", reason: "DataVolumeFailed" });
    expect(failure?.message).toContain("NotAnImage");
    expect(await pod("vireo-launcher-broken")).toBeUndefined();
  });
});
