import { describe, expect, it } from "vitest";
import { kubevirtOverheadBytes } from "./kubevirt.ts";

const MiB = 2 ** 20;

describe("kubevirtOverheadBytes", () => {
  it("is KubeVirt's formula: ≈290 MiB for 1 vCPU / 1 GiB with its defaults (1 IOThread, video on)", () => {
    expect(kubevirtOverheadBytes(1, 1024 * MiB) / MiB).toBe(240 + 8 + 8 + 32 + 2);
  });

  it("drops the video RAM without a graphics device and counts IOThreads", () => {
    expect(kubevirtOverheadBytes(2, 2048 * MiB, { video: false, iothreads: 2 }) / MiB).toBe(
      240 + 16 + 16 + 4,
    );
  });
});
