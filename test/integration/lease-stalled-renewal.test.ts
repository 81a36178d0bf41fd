// Leader election against a real kube-apiserver when the leader's renewal stalls (a request the server never
// answers): the leader must stop leading before a standby may take over, so two leaders never overlap.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../lib/clock.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { KubeResources } from "../../operator/kube/resources.ts";
import { LeaseElector, type LeaseStore } from "../../operator/leader/lease-elector.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const cp = useControlPlane();
let ns: TestNamespace;
let client: KubeClient;

beforeAll(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "lease");
  client = await KubeClient.connect(cp().kubeConfig);
});
afterAll(async () => {
  client?.close();
  await ns?.delete();
});

describe("a leader whose renewal stalls", () => {
  it("stops leading before the standby takes over (no overlap)", async () => {
    const resources = new KubeResources(client);
    const timeline: string[] = [];
    let stalled = false;
    const store = (who: string): LeaseStore => ({
      get: () =>
        who === "a" && stalled ? new Promise(() => undefined) : resources.getLease(ns.name, "vireo"),
      create: (l) => resources.createLease(l),
      update: (l) => (who === "a" && stalled ? new Promise(() => undefined) : resources.updateLease(l)),
    });
    const elector = (who: string) =>
      new LeaseElector({
        store: store(who),
        namespace: ns.name,
        name: "vireo",
        identity: who,
        leaseDurationMs: 4_000,
        renewDeadlineMs: 3_000,
        retryPeriodMs: 500,
        clock: systemClock,
        log: pino({ level: "silent" }),
        onStartedLeading: () => timeline.push(`${who} started`),
        onStoppedLeading: () => timeline.push(`${who} stopped`),
      });
    const a = elector("a");
    a.start();
    await eventually(async () => expect(a.isLeader).toBe(true), { timeoutMs: 30_000, intervalMs: 100 });
    const b = elector("b");
    b.start();
    // a's next renewal (and every request after it) never gets an answer.
    stalled = true;
    await eventually(async () => expect(b.isLeader).toBe(true), { timeoutMs: 60_000, intervalMs: 100 });
    const overlap = a.isLeader;
    a.abandon();
    await b.stop();
    console.log(`timeline: ${timeline.join(" → ")}`);
    expect(overlap).toBe(false);
    expect(timeline.slice(0, 3)).toEqual(["a started", "a stopped", "b started"]);
  });
});
