// The real `vireo-operator` binary: starts from flags, serves /healthz, /readyz and /metrics, reconciles,
// logs JSON with a reconcile id, and on SIGTERM releases its lease and exits 0 within the grace period.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { startOperator } from "../../operator/operator.ts";
import { OPERATOR_RULES } from "../../operator/rbac.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { freePort } from "../harness/ports.ts";
import { useControlPlane } from "../harness/vitest.ts";
import {
  Cluster,
  expectThat,
  httpGet,
  installCrd,
  spawnOperator,
  type OperatorProcess,
} from "./operator-kit.ts";

const cp = useControlPlane();
let ns: TestNamespace;
let cluster: Cluster;
let dir: string;
let proc: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  ns = await createTestNamespace(cp().kubeConfig, "opbin");
  dir = await mkdtemp(join(tmpdir(), "vireo-opbin-"));
});

afterAll(async () => {
  if (proc?.alive()) {
    proc.signal("SIGKILL");
    await proc.exited;
  }
  if (ns) {
    await cluster.cleanNamespace(ns.name);
    await ns.delete();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("bin/vireo-operator.js", () => {
  it("starts, serves health and metrics, reconciles, and exits 0 on SIGTERM having released its lease", async () => {
    const port = await freePort();
    const log = join(dir, "operator.log");
    proc = spawnOperator(
      [
        `--kubeconfig=${cp().kubeconfigPath}`,
        `--metrics-port=${port}`,
        "--metrics-host=127.0.0.1",
        `--namespaces=${ns.name}`,
        `--lease-namespace=${ns.name}`,
        "--identity=bin-test",
        "--launcher-image=localhost/vireo-launcher:test",
        "--emulation=true",
      ],
      log,
    );
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => expectThat((await httpGet(`${base}/healthz`)).status === 200, "/healthz"), {
      timeoutMs: 60_000,
    });
    await eventually(async () => expectThat((await httpGet(`${base}/readyz`)).status === 200, "/readyz"), {
      timeoutMs: 60_000,
    });
    await eventually(
      async () => {
        const m = await httpGet(`${base}/metrics`);
        expectThat(/^vireo_operator_leader 1$/m.test(m.body), "leader gauge 1");
      },
      { timeoutMs: 60_000 },
    );

    await cluster.createVm(ns.name, "web", {});
    await eventually(
      async () => expectThat((await cluster.pod(ns.name, "vireo-launcher-web")) !== undefined, "pod"),
      {
        timeoutMs: 60_000,
      },
    );
    const metrics = (await httpGet(`${base}/metrics`)).body;
    expect(metrics).toMatch(/^vireo_operator_reconcile_total\{result="success"\} [1-9]/m);
    expect(metrics).toMatch(/^vireo_operator_reconcile_duration_seconds_bucket/m);
    expect(metrics).toMatch(/^vireo_operator_workqueue_depth /m);
    expect(metrics).toMatch(/^vireo_operator_vm_start_to_running_seconds_bucket\{le="0.25"\}/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes /m);

    const sent = Date.now();
    proc.signal("SIGTERM");
    const exit = await proc.exited;
    const seconds = (Date.now() - sent) / 1000;
    expect(exit).toEqual({ code: 0, signal: null });
    // The default shutdown timeout is 20 s; an orderly stop takes a fraction of it.
    expect(seconds).toBeLessThan(20);

    const lease = await cp()
      .kubeConfig.makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: ns.name, name: "vireo-operator" });
    expect(lease.spec?.holderIdentity ?? "").toBe("");

    const lines = (await readFile(log, "utf8")).split("\n").filter((l) => l.startsWith("{"));
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const created = entries.find((e) => e.msg === "launcher pod created");
    expect(created).toMatchObject({
      vm: `${ns.name}/web`,
      reconcileId: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    expect(entries.some((e) => e.msg === "released the lease")).toBe(true);
    console.log(JSON.stringify({ shutdownSeconds: seconds }));
  });
});

describe("RBAC", () => {
  it("the operator runs with exactly the rules in operator/rbac.ts", async () => {
    const rbac = cp().kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = `vireo-operator-${ns.name}`;
    await rbac.createClusterRole({ body: { metadata: { name: role }, rules: OPERATOR_RULES } });
    const sa = await cp().serviceAccountKubeconfig(ns.name, "vireo-operator");
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: "vireo-operator", namespace: ns.name }],
      },
    });
    const op = await startOperator(
      {
        launcherImage: "localhost/vireo-launcher:test",
        emulation: true,
        leaseNamespace: ns.name,
        identity: "rbac-test",
        metricsPort: 0,
        metricsHost: "127.0.0.1",
        logLevel: "warn",
      },
      sa.kubeConfig,
    );
    try {
      await eventually(async () => expectThat(op.isLeader(), "leads with its own Lease"), {
        timeoutMs: 30_000,
      });
      // Persistent UEFI variables: the state claim is created and deleted with exactly these rules too.
      await cluster.createVm(ns.name, "rbac", { firmware: { uefi: { persistent: true } } });
      await eventually(
        async () => expectThat((await cluster.pod(ns.name, "vireo-launcher-rbac")) !== undefined, "pod"),
        { timeoutMs: 60_000 },
      );
      await eventually(async () => {
        const vm = await cluster.vm(ns.name, "rbac");
        expectThat(vm?.status?.launcherPod === "vireo-launcher-rbac", "status written");
        expectThat(vm?.metadata.finalizers?.includes("vireo.dev/graceful-stop") === true, "finalizer");
      });
      await eventually(async () => {
        const events = await cluster.events(ns.name, "rbac");
        expectThat(
          events.some((e) => e.reason === "SuccessfulCreate"),
          "event recorded",
        );
      });
      const claim = () =>
        cluster.core
          .readNamespacedPersistentVolumeClaim({ namespace: ns.name, name: "vireo-state-rbac" })
          .catch(() => undefined);
      expect((await claim())?.metadata?.ownerReferences?.[0]?.name).toBe("rbac");
      await cluster.deleteVm(ns.name, "rbac");
      await eventually(async () => expectThat((await cluster.vm(ns.name, "rbac")) === undefined, "deleted"));
      const left = await claim();
      expect(left === undefined || Boolean(left.metadata?.deletionTimestamp), "state claim deleted").toBe(
        true,
      );
      const errors = (await op.metrics.apiErrorsTotal.get()).values.reduce((n, v) => n + v.value, 0);
      expect(errors).toBe(0);
    } finally {
      await op.stop();
      await sa.dispose();
      await rbac.deleteClusterRoleBinding({ name: role });
      await rbac.deleteClusterRole({ name: role });
    }
  });
});
