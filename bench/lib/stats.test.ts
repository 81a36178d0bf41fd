import { describe, expect, it } from "vitest";
import { percentile, summarize } from "./stats.ts";

describe("percentile (nearest rank)", () => {
  it("picks observed values", () => {
    const v = [15, 20, 35, 40, 50];
    expect(percentile(v, 30)).toBe(20);
    expect(percentile(v, 40)).toBe(20);
    expect(percentile(v, 50)).toBe(35);
    expect(percentile(v, 100)).toBe(50);
    expect(percentile(v, 0)).toBe(15);
  });
  it("does not depend on input order and has no answer for nothing", () => {
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([], 50)).toBeUndefined();
  });
  it("p99 of 1000 samples is the 990th smallest", () => {
    const v = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(v, 99)).toBe(990);
    expect(summarize(v)).toEqual({ count: 1000, min: 1, p50: 500, p95: 950, p99: 990, max: 1000 });
  });
  it("summarizes an empty sample as a count", () => {
    expect(summarize([])).toEqual({ count: 0 });
  });
});
