import { describe, expect, it } from "vitest";
import { alignDown, alignUp, FILESYSTEM_RESERVE_RATIO, formatBytes, usableImageBytes } from "./disk-image.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe("usableImageBytes", () => {
  it("keeps back the 5.5 % filesystem reserve and rounds down to whole MiB", () => {
    expect(FILESYSTEM_RESERVE_RATIO).toBe(0.055);
    // 10240 MiB − 5.5 % = 9676.8 MiB → 9676 MiB.
    expect(usableImageBytes(10 * GiB)).toBe(9676 * MiB);
    expect(usableImageBytes(10 * GiB) % 512).toBe(0);
  });

  it("leaves nothing for a space smaller than a MiB after the reserve", () => {
    expect(usableImageBytes(MiB)).toBe(0);
    expect(usableImageBytes(2 * MiB)).toBe(MiB);
  });
});

describe("alignment and formatting", () => {
  it("rounds to whole MiB in both directions", () => {
    expect(alignDown(MiB + 1)).toBe(MiB);
    expect(alignUp(MiB + 1)).toBe(2 * MiB);
    expect(alignUp(2 * MiB)).toBe(2 * MiB);
  });

  it("prints sizes readably and exactly", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(10 * GiB)).toBe("10.0 GiB (10737418240 bytes)");
  });
});
