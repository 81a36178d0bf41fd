// GitOps health, judged by the real tools: the operator (in-process) against a real kube-apiserver drives each
// VM into one situation, the test plays the kubelet, and then kstatus (cli-utils, as Flux and Helm 4 run it) and
// the Argo CD Lua health check (Lua 5.1) judge the VM object exactly as the API server returns it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { argoHealth, kstatus, kstatusBinary, type ArgoHealth } from "./health-kit.ts";
import {
  Cluster,
  expectThat,
  installCrd,
  underCrdWithoutRules,
  type ApiVm,
  startTestOperator,
} from "./operator-kit.ts";

const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;
let judge: string;

beforeAll(async () => {
  judge = await kstatusBinary();
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  ns = await createTestNamespace(cp().kubeConfig, "health");
  operator = await startTestOperator(cp(), opNs.name, {
    // Long enough that a crash loop is still backing off when the judges look at it.
    crashLoopBaseSeconds: 120,
    crashLoopMaxSeconds: 300,
    crashLoopMinRunSeconds: 60,
  });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) {
    await cluster.cleanNamespace(ns.name);
    await ns.delete();
  }
  await opNs?.delete();
});

const podName = (vm: string) => `vireo-launcher-${vm}`;
const wait = { timeoutMs: 60_000, intervalMs: 200 };

async function vmWhere(name: string, ok: (vm: ApiVm) => boolean, what: string): Promise<ApiVm> {
  return eventually(
    async () => {
      const vm = await cluster.vm(ns.name, name);
      expectThat(vm !== undefined && ok(vm), `${name}: ${what} (status ${JSON.stringify(vm?.status)})`);
      return vm!;
    },
    { ...wait, description: `${name}: ${what}` },
  );
}

const printable = (name: string, status: string) =>
  vmWhere(name, (v) => v.status?.printableStatus === status, status);

async function podExists(vm: string): Promise<void> {
  await eventually(
    async () => expectThat((await cluster.pod(ns.name, podName(vm))) !== undefined, `${vm}: pod`),
    wait,
  );
}

/** A VM whose launcher runs with a ready guest, bound to a node so that its deletion waits for a kubelet. */
async function running(name: string, spec: Record<string, unknown> = {}): Promise<ApiVm> {
  await cluster.createVm(ns.name, name, spec);
  await podExists(name);
  await cluster.bind(ns.name, podName(name));
  await cluster.podRunning(ns.name, podName(name));
  return printable(name, "Running");
}

type Kstatus = "Current" | "InProgress" | "Failed" | "Terminating";

/** Each situation: how to get there, and the VM object the operator then wrote. */
const situations: [string, Kstatus, ArgoHealth, (name: string) => Promise<ApiVm>][] = [
  ["running with a ready guest", "Current", "Healthy", (n) => running(n)],
  [
    "halted",
    "Current",
    "Healthy",
    async (n) => {
      await cluster.createVm(ns.name, n, { runStrategy: "Halted" });
      return printable(n, "Stopped");
    },
  ],
  [
    "halted after running (the pod has gone)",
    "Current",
    "Healthy",
    async (n) => {
      await running(n);
      await cluster.patchVm(ns.name, n, { spec: { runStrategy: "Halted" } });
      await printable(n, "Stopping");
      await cluster.finalizePod(ns.name, podName(n));
      return printable(n, "Stopped");
    },
  ],
  [
    "manual, stopped",
    "Current",
    "Healthy",
    async (n) => {
      await cluster.createVm(ns.name, n, { runStrategy: "Manual" });
      return printable(n, "Stopped");
    },
  ],
  [
    "paused by the user",
    "Current",
    "Healthy",
    async (n) => {
      await running(n);
      const pod = await cluster.pod(ns.name, podName(n));
      await cluster.recordPause(ns.name, n, pod?.metadata?.uid);
      // A paused guest fails the launcher's readiness, as a real pause does.
      await cluster.podRunning(ns.name, podName(n), { ready: false });
      return printable(n, "Paused");
    },
  ],
  [
    "Once, the run is done",
    "Current",
    "Healthy",
    async (n) => {
      await running(n, { runStrategy: "Once" });
      await cluster.podEnded(ns.name, podName(n), "Succeeded");
      return vmWhere(n, (v) => v.status?.phase === "Succeeded", "Succeeded");
    },
  ],
  [
    "starting (pod created, not running yet)",
    "InProgress",
    "Progressing",
    async (n) => {
      await cluster.createVm(ns.name, n, {});
      await podExists(n);
      return printable(n, "Starting");
    },
  ],
  [
    "running, the guest's readiness probe not passed yet",
    "InProgress",
    "Progressing",
    async (n) => {
      await cluster.createVm(ns.name, n, { readinessProbe: { tcpSocket: { port: 22 } } });
      await podExists(n);
      await cluster.podRunning(ns.name, podName(n), { ready: false, started: true });
      return printable(n, "Running");
    },
  ],
  [
    "stopping (Halted, the pod is terminating)",
    "InProgress",
    "Progressing",
    async (n) => {
      await running(n);
      await cluster.patchVm(ns.name, n, { spec: { runStrategy: "Halted" } });
      return printable(n, "Stopping");
    },
  ],
  [
    "restarting (a restart request, the old pod is terminating)",
    "InProgress",
    "Progressing",
    async (n) => {
      await running(n);
      await cluster.patchVm(ns.name, n, {
        metadata: { annotations: { "vireo.dev/restartedAt": "2025-06-01T10:00:00Z" } },
      });
      return printable(n, "Stopping");
    },
  ],
  [
    "invalid spec (stored under an older CRD, refused by the operator's schema)",
    "Failed",
    "Degraded",
    async (n) => {
      // Refused by the CRD's CEL now; stored under an older CRD (Helm does not upgrade CRDs).
      const spec = { memory: { guest: "1000Mi", hugepages: { pageSize: "1Gi" } } };
      await underCrdWithoutRules(cp(), () => cluster.createVm(ns.name, n, spec));
      return printable(n, "InvalidSpec");
    },
  ],
  [
    "a claim that does not exist",
    "Failed",
    "Degraded",
    async (n) => {
      await cluster.createVm(ns.name, n, {
        disks: [{ name: "root" }],
        volumes: [{ name: "root", persistentVolumeClaim: { claimName: "nowhere" } }],
      });
      return printable(n, "ErrorPvcNotFound");
    },
  ],
  [
    "waiting for its state claim (persistent UEFI variables) to bind",
    "InProgress",
    "Progressing",
    async (n) => {
      await cluster.createVm(ns.name, n, { firmware: { uefi: { persistent: true } } });
      await podExists(n);
      return printable(n, "WaitingForVolumeBinding");
    },
  ],
  [
    "a state claim of its name that another owner controls",
    "Failed",
    "Degraded",
    async (n) => {
      await cluster.core.createNamespacedPersistentVolumeClaim({
        namespace: ns.name,
        body: {
          metadata: { name: `vireo-state-${n}` },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } },
        },
      });
      await cluster.createVm(ns.name, n, { firmware: { uefi: { persistent: true } } });
      return printable(n, "ErrorPvcNotFound");
    },
  ],
  [
    "crash loop (quick failures, backing off)",
    "Failed",
    "Degraded",
    async (n) => {
      await running(n);
      await cluster.podEnded(ns.name, podName(n), "Failed", { ranSeconds: 1, message: "qemu: boom" });
      return printable(n, "CrashLoopBackOff");
    },
  ],
  [
    "its node stopped answering",
    "Failed",
    "Degraded",
    async (n) => {
      await running(n);
      await cluster.nodeStoppedAnswering(ns.name, podName(n));
      return printable(n, "NodeUnreachable");
    },
  ],
  [
    "Once, the run failed",
    "Failed",
    "Degraded",
    async (n) => {
      await running(n, { runStrategy: "Once" });
      await cluster.podEnded(ns.name, podName(n), "Failed", { message: "guest panicked" });
      return printable(n, "Failed");
    },
  ],
  [
    "being deleted (waiting for the pod)",
    "Terminating",
    "Progressing",
    async (n) => {
      await running(n);
      await cluster.deleteVm(ns.name, n);
      return printable(n, "Terminating");
    },
  ],
];

describe("kubectl get", () => {
  it("shows the Ready condition and the guest's readiness as columns", async () => {
    await cluster.createVm(ns.name, "columns", { runStrategy: "Halted" });
    await printable("columns", "Stopped");
    const out = await cp().kubectl(["get", "virtualmachines", "columns", "-n", ns.name]);
    const [header, row] = out.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    expect(header?.slice(0, 4)).toEqual(["NAME", "STATUS", "READY", "GUEST"]);
    expect(row?.slice(0, 4)).toEqual(["columns", "Stopped", "True", "false"]);
  });
});

describe("health as GitOps tools judge it", () => {
  situations.forEach(([what, want, argo, drive], i) => {
    it(`${what}: kstatus ${want}, Argo CD ${argo}`, async () => {
      const vm = await drive(`vm${i}`);
      const [verdict] = await kstatus(judge, [vm]);
      const context = `${what}: ${JSON.stringify(vm.status?.conditions)}`;
      expect(verdict?.status, context).toBe(want);
      const health = await argoHealth(vm);
      expect(health.status, context).toBe(argo);
      expect(health.message).not.toBe("");
    });
  });
});
