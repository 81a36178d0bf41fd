import { describe, expect, it } from "vitest";
import { CONTROL_ERRORS } from "../../crds/contract/control.ts";
import { claimDisksOf, judgeResize, planResizes, reportedCapacity } from "./resize-plan.ts";

const Mi = 2 ** 20;
const spec = {
  volumes: [
    { name: "root", dataVolume: { name: "root-dv" } },
    { name: "data", persistentVolumeClaim: { claimName: "data-pvc" } },
    { name: "cloudinit", cloudInitNoCloud: { userData: "" } },
  ],
};

describe("online resize plan", () => {
  it("finds the claim disks: persistentVolumeClaim and dataVolume volumes", () => {
    expect(claimDisksOf(spec)).toEqual([
      { disk: "root", claim: "root-dv" },
      { disk: "data", claim: "data-pvc" },
    ]);
    expect(claimDisksOf({ volumes: "junk" })).toEqual([]);
  });

  it("reads status.capacity only, never the request (the expansion is done when status shows it)", () => {
    expect(reportedCapacity({ status: { capacity: { storage: "2Gi" } } })).toBe(2 * 1024 * Mi);
    expect(reportedCapacity({ spec: { resources: { requests: { storage: "4Gi" } } } })).toBeUndefined();
  });

  it("asks about each claim disk whose capacity differs from what the pod was told", () => {
    const caps: Record<string, number> = { "root-dv": 10 * 1024 * Mi, "data-pvc": 2 * 1024 * Mi };
    const told = new Map([["root", 10 * 1024 * Mi]]);
    expect(planResizes(claimDisksOf(spec), (c) => caps[c], told)).toEqual([
      { disk: "data", claim: "data-pvc", capacityBytes: 2 * 1024 * Mi },
    ]);
    told.set("data", 2 * 1024 * Mi);
    expect(planResizes(claimDisksOf(spec), (c) => caps[c], told)).toEqual([]);
  });

  it("judges the launcher's answers: grown → Normal Event; shrink → Warning once; not yet → ask again", () => {
    const r = { disk: "data", claim: "data-pvc", capacityBytes: 192 * Mi };
    const grown = judgeResize(r, { disk: "data", action: "grow", fromBytes: 120 * Mi, toBytes: 181 * Mi });
    expect(grown).toMatchObject({ told: true, event: { type: "Normal", reason: "DiskResized" } });
    expect(grown.event!.message).toMatch(/grown online from 120\.0 MiB .* to 181\.0 MiB/);
    expect(judgeResize(r, { disk: "data", action: "unchanged", sizeBytes: 181 * Mi })).toEqual({
      told: true,
    });
    expect(
      judgeResize(r, { disk: "data", action: "unchanged", sizeBytes: 120 * Mi, note: "not expanded yet" }),
    ).toEqual({ told: false });
    expect(
      judgeResize(r, { error: { code: CONTROL_ERRORS.SHRINK_REFUSED, message: "never shrunk" } }),
    ).toEqual({
      told: true,
      event: { type: "Warning", reason: "DiskShrinkRefused", message: "never shrunk" },
    });
    expect(
      judgeResize(r, {
        error: { code: CONTROL_ERRORS.RESIZE_REFUSED, message: "not expanded the filesystem yet" },
      }),
    ).toMatchObject({ told: false, event: { type: "Warning", reason: "DiskResizePending" } });
  });
});
