import { describe, expect, it } from "vitest";
import { formatBytes, isQuantity, parseQuantity } from "./quantity.ts";

describe("Kubernetes quantities", () => {
  it.each([
    ["1Gi", 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1G", 1e9],
    ["100", 100],
    ["1e3", 1000],
    ["500m", 0.5],
  ])("%s = %d", (q, n) => expect(parseQuantity(q)).toBe(n));

  it.each(["1GB", "Gi", "", "-1Gi", "1 Gi", "1.Gi"])("rejects %j", (q) => {
    expect(isQuantity(q)).toBe(false);
    expect(parseQuantity(q)).toBeUndefined();
  });

  it("formats bytes as the largest exact binary unit", () => {
    expect(formatBytes(2 ** 30)).toBe("1Gi");
    expect(formatBytes(1536 * 2 ** 20)).toBe("1536Mi");
    expect(formatBytes(1000)).toBe("1000");
  });
});
