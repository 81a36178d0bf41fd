// Two operators on one Lease: exactly one reconciles; an orderly stop hands over at once; a leader killed
// with SIGKILL in the middle of starting many VMs is replaced once its lease expires, with no duplicate pods.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOperator, type OperatorHandle } from "../../operator/operator.ts";
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
let cluster: Cluster;
let ns: TestNamespace;
let dir: string;

const election = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 };

beforeAll(async () => {
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  dir = await mkdtemp(join(tmpdir(), "vireo-leader-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "leader");
});
afterEach(async () => {
  await cluster.cleanNamespace(ns.name);
  await ns.delete();
});

async function holder(): Promise<string | undefined> {
  try {
    const lease = await cp()
      .kubeConfig.makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: ns.name, name: "vireo-operator" });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

/** Pods per owning VM uid. */
async function podsByOwner(): Promise<Map<string, number>> {
  const owners = new Map<string, number>();
  for (const p of await cluster.pods(ns.name)) {
    const uid = p.metadata?.ownerReferences?.[0]?.uid ?? "";
    owners.set(uid, (owners.get(uid) ?? 0) + 1);
  }
  return owners;
}

describe("leader election, in-process", () => {
  it("exactly one of two operators leads and reconciles; stopping it hands over promptly", async () => {
    const common = {
      ...election,
      launcherImage: "localhost/vireo-launcher:test",
      emulation: true,
      namespaces: [ns.name],
      leaseNamespace: ns.name,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      logLevel: "warn" as const,
    };
    const a: OperatorHandle = await startOperator({ ...common, identity: "op-a" }, cp().kubeConfig);
    const b: OperatorHandle = await startOperator({ ...common, identity: "op-b" }, cp().kubeConfig);
    try {
      const first = await eventually(async () => {
        const h = await holder();
        expectThat(h !== undefined && [a, b].filter((o) => o.isLeader()).length === 1, "one leader");
        return h!;
      });
      const [leader, standby] = first === "op-a" ? [a, b] : [b, a];
      expect(leader.isLeader()).toBe(true);
      expect(standby.isLeader()).toBe(false);

      await cluster.createVm(ns.name, "one", {});
      await eventually(async () =>
        expectThat((await cluster.pod(ns.name, "vireo-launcher-one")) !== undefined, "pod"),
      );
      const standbyRuns = await standby.metrics.reconcileTotal.get();
      expect(standbyRuns.values.reduce((n, v) => n + v.value, 0)).toBe(0);

      await leader.stop();
      expect(await holder()).not.toBe(first);
      await eventually(async () => expectThat(standby.isLeader(), "standby leads"), { timeoutMs: 10_000 });
      expect(await holder()).toBe(standby.config.identity);
      await cluster.createVm(ns.name, "two", {});
      await eventually(async () =>
        expectThat((await cluster.pod(ns.name, "vireo-launcher-two")) !== undefined, "pod"),
      );
      expect([...(await podsByOwner()).values()]).toEqual([1, 1]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe("leader election, real processes", () => {
  const procs: OperatorProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.signal("SIGKILL");
      await p.exited;
    }
  });

  it("a leader killed mid-reconcile is replaced after its lease expires; every VM ends with one pod", async () => {
    const COUNT = 80;
    const ports = [await freePort(), await freePort()];
    const start = (identity: string, port: number) =>
      spawnOperator(
        [
          `--kubeconfig=${cp().kubeconfigPath}`,
          `--metrics-port=${port}`,
          "--metrics-host=127.0.0.1",
          `--namespaces=${ns.name}`,
          `--lease-namespace=${ns.name}`,
          `--identity=${identity}`,
          "--lease-duration=4",
          "--renew-deadline=3",
          "--retry-period=0.5",
          // One worker, so the leader is still busy when it is killed.
          "--workers=1",
          "--emulation=true",
          "--log-level=warn",
        ],
        join(dir, `${identity}.log`),
      );
    const byId = new Map([
      ["proc-a", start("proc-a", ports[0]!)],
      ["proc-b", start("proc-b", ports[1]!)],
    ]);
    procs.push(...byId.values());
    const leaderId = await eventually(
      async () => {
        const h = await holder();
        expectThat(h !== undefined, "a leader");
        return h!;
      },
      { timeoutMs: 90_000 },
    );
    const standbyId = leaderId === "proc-a" ? "proc-b" : "proc-a";
    const standbyPort = leaderId === "proc-a" ? ports[1]! : ports[0]!;
    await eventually(
      async () =>
        expectThat((await httpGet(`http://127.0.0.1:${standbyPort}/readyz`)).status === 200, "standby ready"),
      {
        timeoutMs: 90_000,
      },
    );

    const names = Array.from({ length: COUNT }, (_, i) => `vm-${i}`);
    await Promise.all(names.map((n) => cluster.createVm(ns.name, n, {})));
    const podsAtKill = await eventually(
      async () => {
        const n = (await cluster.pods(ns.name)).length;
        expectThat(n >= 5, `${n} pods`);
        return n;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    byId.get(leaderId)!.signal("SIGKILL");
    expect((await byId.get(leaderId)!.exited).signal).toBe("SIGKILL");

    await eventually(async () => expectThat((await holder()) === standbyId, "standby holds the lease"), {
      timeoutMs: 60_000,
    });
    await eventually(
      async () => {
        const owners = await podsByOwner();
        const pods = [...owners.values()].reduce((a, b) => a + b, 0);
        expectThat(owners.size === COUNT && pods === COUNT, `${owners.size} VMs with pods, ${pods} pods`);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect([...(await podsByOwner()).values()].every((n) => n === 1)).toBe(true);
    const metrics = (await httpGet(`http://127.0.0.1:${standbyPort}/metrics`)).body;
    expect(metrics).toMatch(/^vireo_operator_leader 1$/m);
    console.log(JSON.stringify({ vms: COUNT, podsWhenLeaderKilled: podsAtKill }));
    expect(podsAtKill).toBeLessThan(COUNT);
  });
});
