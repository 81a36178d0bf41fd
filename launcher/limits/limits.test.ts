import { describe, expect, it } from "vitest";
import { LogLimiter } from "./log-limit.ts";
import { TokenBucket } from "./token-bucket.ts";

const clock = () => {
  let t = 0;
  return { now: () => t, step: (ms: number) => (t += ms) };
};

describe("TokenBucket", () => {
  it("allows a burst, then the average rate", () => {
    const c = clock();
    const b = new TokenBucket(10, 3, c.now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    c.step(100);
    expect([b.take(), b.take()]).toEqual([true, false]);
    c.step(10_000);
    expect(Array.from({ length: 5 }, () => b.take()).filter(Boolean)).toHaveLength(3);
  });
});

describe("LogLimiter", () => {
  it("writes a bounded number of lines for a flood and reports what it suppressed", () => {
    const c = clock();
    const lines: Array<{ obj: object; msg: string }> = [];
    const sink = (obj: object, msg: string) => lines.push({ obj, msg });
    const log = new LogLimiter(
      { debug: sink, info: sink, warn: sink, error: sink },
      {
        perSecond: 5,
        burst: 10,
        now: c.now,
      },
    );
    // One second of a guest flood: 100,000 events.
    for (let i = 0; i < 100_000; i++) {
      log.log("info", "qmp-event", { i }, "QMP event RTC_CHANGE");
      if (i % 1000 === 0) c.step(10);
    }
    expect(lines.length).toBeLessThanOrEqual(10 + 5);
    expect(log.suppressed).toBe(100_000 - lines.length);
    c.step(1000);
    log.log("info", "qmp-event", {}, "QMP event RTC_CHANGE");
    expect(lines.at(-1)!.obj).toMatchObject({ suppressed: expect.any(Number) });
    // Another kind has its own budget.
    expect(log.log("warn", "qemu-stderr", {}, "qemu stderr")).toBe(true);
  });

  it("caps the number of buckets", () => {
    const c = clock();
    let n = 0;
    const sink = () => void n++;
    const log = new LogLimiter(
      { debug: sink, info: sink, warn: sink, error: sink },
      {
        perSecond: 1,
        burst: 1,
        maxKinds: 2,
        now: c.now,
      },
    );
    for (let i = 0; i < 1000; i++) log.log("info", `kind-${i}`, {}, "x");
    expect(n).toBe(3);
  });
});
