import { describe, expect, it } from "vitest";
import { CONTROL_ERRORS } from "../../crds/contract/control.ts";
import { usableImageBytes } from "../../crds/contract/disk-image.ts";
import { decideOnlineResize, type OnlineResizeFacts } from "./online-resize.ts";

const MiB = 2 ** 20;
const fsDisk = (over: Partial<OnlineResizeFacts> = {}): OnlineResizeFacts => ({
  name: "data",
  readOnly: false,
  source: "pvcFilesystem",
  currentBytes: usableImageBytes(128 * MiB),
  capacityBytes: 192 * MiB,
  volume: { allocatedBytes: 10 * MiB, availableBytes: 200 * MiB },
  ...over,
});

describe("decideOnlineResize", () => {
  it("grows a Filesystem claim's image to the claim less the reserve", () => {
    expect(decideOnlineResize(fsDisk())).toEqual({
      action: "grow",
      fromBytes: 120 * MiB,
      toBytes: usableImageBytes(192 * MiB),
    });
    expect(usableImageBytes(192 * MiB)).toBe(181 * MiB);
  });

  it("leaves a disk alone when the claim holds what it has (the same request twice)", () => {
    expect(decideOnlineResize(fsDisk({ capacityBytes: 128 * MiB }))).toEqual({
      action: "unchanged",
      sizeBytes: 120 * MiB,
    });
  });

  it("refuses to shrink", () => {
    const d = decideOnlineResize(fsDisk({ capacityBytes: 64 * MiB }));
    expect(d).toMatchObject({ action: "refuse", code: CONTROL_ERRORS.SHRINK_REFUSED });
    const b = decideOnlineResize({
      name: "blk",
      readOnly: false,
      source: "pvcBlock",
      currentBytes: 256 * MiB,
      capacityBytes: 128 * MiB,
      deviceBytes: 256 * MiB,
    });
    expect(b).toMatchObject({ action: "refuse", code: CONTROL_ERRORS.SHRINK_REFUSED });
  });

  it("waits for the kubelet's filesystem expansion: no growing past what the volume holds", () => {
    const d = decideOnlineResize(fsDisk({ volume: { allocatedBytes: 10 * MiB, availableBytes: 100 * MiB } }));
    expect(d).toMatchObject({ action: "refuse", code: CONTROL_ERRORS.RESIZE_REFUSED });
    expect((d as { message: string }).message).toMatch(/not expanded the filesystem/);
  });

  it("grows a Block claim to its device, and says so while the device is not larger yet", () => {
    const blk = { name: "blk", readOnly: false, source: "pvcBlock" as const, currentBytes: 128 * MiB };
    expect(decideOnlineResize({ ...blk, capacityBytes: 256 * MiB, deviceBytes: 256 * MiB })).toEqual({
      action: "grow",
      fromBytes: 128 * MiB,
      toBytes: 256 * MiB,
    });
    expect(decideOnlineResize({ ...blk, capacityBytes: 256 * MiB, deviceBytes: 128 * MiB })).toMatchObject({
      action: "unchanged",
      note: expect.stringMatching(/not expanded yet/),
    });
  });

  it("refuses read-only disks and disks that are not claims", () => {
    expect(decideOnlineResize(fsDisk({ readOnly: true }))).toMatchObject({
      action: "refuse",
      code: CONTROL_ERRORS.RESIZE_REFUSED,
    });
    expect(decideOnlineResize(fsDisk({ source: "other" }))).toMatchObject({
      action: "refuse",
      code: CONTROL_ERRORS.RESIZE_REFUSED,
    });
  });
});
