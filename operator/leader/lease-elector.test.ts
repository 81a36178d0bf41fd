import type { V1Lease } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { KubeApiError } from "../../lib/kube/errors.ts";
import { FakeClock } from "../../lib/clock.ts";
import { LeaseElector, mayAcquire, microTime, observe, type LeaseStore } from "./lease-elector.ts";

/** An in-memory Lease with the API server's compare-and-swap on resourceVersion. */
class MemoryLeaseStore implements LeaseStore {
  lease: V1Lease | undefined;
  rv = 0;
  failing = false;
  writes = 0;
  async get() {
    if (this.failing) throw new KubeApiError(0, undefined, "unreachable", "GET lease");
    return this.lease ? structuredClone(this.lease) : undefined;
  }
  async create(l: V1Lease) {
    if (this.failing) throw new KubeApiError(0, undefined, "unreachable", "POST lease");
    if (this.lease) throw new KubeApiError(409, "AlreadyExists", "exists", "POST lease");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    this.writes++;
    return structuredClone(this.lease);
  }
  async update(l: V1Lease) {
    if (this.failing) throw new KubeApiError(0, undefined, "unreachable", "PUT lease");
    if (l.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
      throw new KubeApiError(409, "Conflict", "modified", "PUT lease");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    this.writes++;
    return structuredClone(this.lease);
  }
}

function elector(store: LeaseStore, clock: FakeClock, identity: string, log: string[]) {
  return new LeaseElector({
    store,
    namespace: "vireo-system",
    name: "vireo-operator",
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    clock,
    log: pino({ level: "silent" }),
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} stops`),
  });
}

describe("lease rules", () => {
  it("takes a lease held by another only after it looked unchanged for the lease duration", () => {
    const spec = {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      renewTime: microTime(0) as unknown as Date,
    };
    const seen = observe(undefined, spec, 1_000);
    expect(mayAcquire(spec, "b", seen, 15_999, 15_000)).toBe(false);
    expect(mayAcquire(spec, "b", seen, 16_000, 15_000)).toBe(true);
    expect(mayAcquire(spec, "a", seen, 1_000, 15_000)).toBe(true);
    expect(mayAcquire({ ...spec, holderIdentity: undefined }, "b", seen, 1_000, 15_000)).toBe(true);
    // A renewal restarts the clock.
    const renewed = observe(seen, { ...spec, renewTime: microTime(2_000) as unknown as Date }, 3_000);
    expect(renewed.at).toBe(3_000);
    expect(observe(renewed, { ...spec, renewTime: microTime(2_000) as unknown as Date }, 9_000)).toBe(
      renewed,
    );
  });

  it("formats MicroTime with six fractional digits", () => {
    expect(microTime(Date.parse("2025-01-02T03:04:05.678Z"))).toBe("2025-01-02T03:04:05.678000Z");
  });
});

describe("LeaseElector", () => {
  it("exactly one of two candidates leads; a crashed leader is replaced after the lease duration", async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const b = elector(store, clock, "b", log);
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(10_000);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(store.lease?.spec?.holderIdentity).toBe("a");

    a.abandon();
    await clock.advance(14_000);
    expect(b.isLeader).toBe(false);
    await clock.advance(4_000);
    expect(b.isLeader).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    expect(log).toEqual(["a leads", "b leads"]);
    await b.stop();
  });

  it("a leader that stops releases the lease and the standby takes over within one retry period", async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const b = elector(store, clock, "b", log);
    a.start();
    await clock.advance(0);
    b.start();
    await clock.advance(6_000);
    const stopped = a.stop();
    await clock.advance(0);
    await stopped;
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    await clock.advance(2_000);
    expect(b.isLeader).toBe(true);
    expect(log).toEqual(["a leads", "a stops", "b leads"]);
    await b.stop();
  });

  it("stops leading when renewals fail for the renew deadline, before the lease can expire", async () => {
    const clock = new FakeClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    a.start();
    await clock.advance(1_000);
    expect(a.isLeader).toBe(true);
    // Last renewal at t=0; renewals fail from t=2 s; the deadline is 10 s after the last success.
    store.failing = true;
    await clock.advance(8_500);
    expect(a.isLeader).toBe(true);
    await clock.advance(1_000);
    expect(a.isLeader).toBe(false);
    expect(log).toEqual(["a leads", "a stops"]);
    // It campaigns again once the API answers.
    store.failing = false;
    await clock.advance(2_000);
    expect(a.isLeader).toBe(true);
    await a.stop();
  });
});
