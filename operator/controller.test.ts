import pino from "pino";
import { describe, expect, it } from "vitest";
import { Controller, verdictOf } from "./controller.ts";
import type { ReconcileOutcome } from "./reconcile/reconciler.ts";
import { FakeClock } from "../lib/clock.ts";
import { createMetrics } from "./runtime/metrics.ts";

describe("verdictOf: outcomes to the queue", () => {
  it("success forgets, requeue looks again later, error retries, terminal does not", () => {
    expect(verdictOf({ ok: {} })).toEqual({ result: "success", retry: false });
    expect(verdictOf({ ok: { requeueAfterMs: 1500 } })).toEqual({
      result: "requeue",
      requeueAfterMs: 1500,
      retry: false,
    });
    expect(verdictOf({ error: new Error("boom") })).toEqual({ result: "error", retry: true });
    expect(verdictOf({ ok: { terminal: "InvalidSpec" } })).toEqual({ result: "terminal", retry: false });
  });
});

/** A controller over a scripted reconcile: each key answers from its list of outcomes, in turn. */
function harness(script: Record<string, (ReconcileOutcome | Error)[]>) {
  const clock = new FakeClock();
  const metrics = createMetrics(() => new Map());
  const calls: string[] = [];
  const controller = new Controller({
    reconcile: async (key) => {
      calls.push(key);
      const next = script[key]?.shift() ?? {};
      if (next instanceof Error) throw next;
      return next;
    },
    workers: 2,
    retryBaseMs: 100,
    retryMaxMs: 1_000,
    clock,
    log: pino({ level: "silent" }),
    metrics,
  });
  const count = async (result: string) =>
    (await metrics.reconcileTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { clock, metrics, calls, controller, count };
}

describe("Controller", () => {
  it("retries an error with back-off and counts each reconcile by result", async () => {
    const h = harness({ a: [new Error("api down"), new Error("api down"), {}] });
    h.controller.start(["a"]);
    await h.clock.advance(0);
    expect(h.calls).toEqual(["a"]);
    await h.clock.advance(99);
    expect(h.calls).toEqual(["a"]);
    await h.clock.advance(1);
    expect(h.calls).toEqual(["a", "a"]);
    // The second failure doubles the delay.
    await h.clock.advance(199);
    expect(h.calls).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.calls).toHaveLength(3);
    expect(await h.count("error")).toBe(2);
    expect(await h.count("success")).toBe(1);
    expect((await h.metrics.retriesTotal.get()).values[0]?.value).toBe(2);
    await h.controller.stop();
  });

  it("a requeue looks again after its delay; a terminal outcome is not retried", async () => {
    const h = harness({ a: [{ requeueAfterMs: 5_000 }, {}], b: [{ terminal: "InvalidSpec" }] });
    h.controller.start(["a", "b"]);
    await h.clock.advance(4_999);
    expect(h.calls.sort()).toEqual(["a", "b"]);
    await h.clock.advance(1);
    expect(h.calls.filter((k) => k === "a")).toHaveLength(2);
    await h.clock.advance(60_000);
    expect(h.calls.filter((k) => k === "b")).toHaveLength(1);
    expect(await h.count("requeue")).toBe(1);
    expect(await h.count("terminal")).toBe(1);
    await h.controller.stop();
  });

  it("ignores keys while stopped, and stop waits for the reconcile in flight", async () => {
    let release!: () => void;
    const h = harness({});
    const slow = new Controller({
      reconcile: () => new Promise<ReconcileOutcome>((r) => (release = () => r({}))),
      workers: 1,
      retryBaseMs: 100,
      retryMaxMs: 1_000,
      clock: h.clock,
      log: pino({ level: "silent" }),
      metrics: h.metrics,
    });
    slow.add("ignored");
    expect(slow.depth).toBe(0);
    slow.start(["a"]);
    await h.clock.advance(0);
    let stopped = false;
    const stopping = slow.stop().then(() => (stopped = true));
    await h.clock.advance(0);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(slow.running).toBe(false);
    expect(await h.count("success")).toBe(1);
  });
});
