import { describe, expect, it } from "vitest";
import { FakeClock } from "../../lib/clock.ts";
import { WorkQueue } from "./work-queue.ts";

function queue(clock = new FakeClock()) {
  const depths: number[] = [];
  let retries = 0;
  const q = new WorkQueue<string>({
    clock,
    retryBaseMs: 100,
    retryMaxMs: 1_000,
    hooks: { onDepth: (d) => depths.push(d), onRetry: () => retries++ },
  });
  return { q, clock, depths, retries: () => retries };
}

describe("WorkQueue", () => {
  it("deduplicates queued keys and keeps FIFO order", async () => {
    const { q } = queue();
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
  });

  it("never hands out a key twice at once; an add while processing re-queues it on done", async () => {
    const { q } = queue();
    q.add("a");
    const k = await q.get();
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(k!);
    await Promise.resolve();
    expect(second).toBe("a");
  });

  it("wakes a waiting worker on add", async () => {
    const { q } = queue();
    const pending = q.get();
    q.add("x");
    expect(await pending).toBe("x");
    expect(q.inFlight).toBe(1);
  });

  it("addAfter fires on the clock and the earliest of several deadlines wins", async () => {
    const { q, clock } = queue();
    q.addAfter("a", 5_000);
    q.addAfter("a", 1_000);
    q.addAfter("a", 9_000);
    await clock.advance(999);
    expect(q.length).toBe(0);
    await clock.advance(1);
    expect(q.length).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("rate-limited retries back off exponentially per key and forget resets them", async () => {
    const { q, clock, retries } = queue();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now();
      q.addRateLimited("a");
      while (q.length === 0) await clock.advance(10);
      delays.push(clock.now() - start);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
    expect(q.retries("a")).toBe(5);
    expect(retries()).toBe(5);
    q.forget("a");
    expect(q.retries("a")).toBe(0);
  });

  it("shutDown releases waiting workers, drops timers, and drained() waits for in-flight keys", async () => {
    const { q, clock } = queue();
    q.add("busy");
    const busy = await q.get();
    const waiting = q.get();
    q.addAfter("later", 1_000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(clock.pending).toBe(0);
    q.add("ignored");
    expect(await q.get()).toBeUndefined();
    let drained = false;
    const d = q.drained().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(busy!);
    await d;
    expect(drained).toBe(true);
  });

  it("reports depth changes", async () => {
    const { q, depths } = queue();
    q.add("a");
    q.add("b");
    await q.get();
    expect(depths).toEqual([1, 2, 1]);
  });
});
