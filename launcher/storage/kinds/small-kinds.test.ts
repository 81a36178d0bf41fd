import { describe, expect, it } from "vitest";
import type { DiskError } from "../errors.ts";
import { isKeyName, planConfigVolume } from "./config-volume.ts";
import { planEmptyDisk } from "./empty-disk.ts";
import { planPvcBlock } from "./pvc-block.ts";

const MiB = 2 ** 20;
const layout = { disksDir: "/state/disks" };
const direct = { path: "/state/disks", supported: true };

function errorOf(f: () => unknown): DiskError {
  try {
    f();
  } catch (e) {
    return e as DiskError;
  }
  throw new Error("expected a DiskError");
}

describe("planPvcBlock", () => {
  const source = { kind: "pvcBlock" as const, devicePath: "/dev/vireo/data", claimName: "data-pvc" };
  it("passes a block device through", () => {
    const plan = planPvcBlock({ name: "data" }, source, {
      device: { kind: "block", sizeBytes: 0, allocatedBytes: 0 },
      directIo: { path: "/dev/vireo/data", supported: true },
    });
    expect(plan).toMatchObject({ action: "use", path: "/dev/vireo/data", options: { cache: "none" } });
  });

  it("refuses a missing device and a path that is no block device", () => {
    const missing = errorOf(() => planPvcBlock({ name: "data" }, source, {}));
    expect([missing.code, missing.disk, missing.path]).toEqual([
      "BLOCK_DEVICE_MISSING",
      "data",
      "/dev/vireo/data",
    ]);
    expect(missing.message).toContain("data-pvc");
    const regular = errorOf(() =>
      planPvcBlock({ name: "data" }, source, { device: { kind: "file", sizeBytes: 1, allocatedBytes: 1 } }),
    );
    expect(regular.code).toBe("BLOCK_DEVICE_MISSING");
    expect(regular.message).toContain("not a block device");
  });
});

describe("planEmptyDisk", () => {
  const source = { kind: "emptyDisk" as const, capacityBytes: 10 * MiB + 1 };
  it("rounds the size up to whole MiB", () => {
    const plan = planEmptyDisk(
      { name: "scratch" },
      source,
      { space: { totalBytes: 200 * MiB, availableBytes: 100 * MiB }, directIo: direct },
      layout,
    );
    expect(plan).toEqual(
      expect.objectContaining({ path: "/state/disks/scratch.empty.img", sizeBytes: 11 * MiB }),
    );
  });

  it("counts the space the previous run's disk gives back, and refuses what does not fit", () => {
    const previous = { kind: "file" as const, sizeBytes: 11 * MiB, allocatedBytes: 6 * MiB };
    const space = { totalBytes: 100 * MiB, availableBytes: 5 * MiB };
    expect(
      planEmptyDisk({ name: "s" }, source, { space, previous, directIo: direct }, layout).sizeBytes,
    ).toBe(11 * MiB);
    expect(
      errorOf(() => planEmptyDisk({ name: "s" }, source, { space, directIo: direct }, layout)).code,
    ).toBe("INSUFFICIENT_SPACE");
  });
});

describe("ConfigMap and Secret volumes", () => {
  it("takes keys and skips the atomic writer's bookkeeping", () => {
    expect(["app.conf", ".hidden", "..data", "..2024_01_01_00_00_00.123"].filter(isKeyName)).toEqual([
      "app.conf",
      ".hidden",
    ]);
  });

  it("plans an ISO of the files, or refuses a missing mount", () => {
    const source = { kind: "secret" as const, mountPath: "/v/creds", name: "creds" };
    const files = [{ path: "token", data: "s3cret" }];
    expect(
      planConfigVolume({ name: "creds" }, source, { mounted: true, files, directIo: direct }, layout),
    ).toMatchObject({
      path: "/state/disks/creds.secret.iso",
      files,
    });
    const err = errorOf(() =>
      planConfigVolume({ name: "creds" }, source, { mounted: false, files: [], directIo: direct }, layout),
    );
    expect([err.code, err.disk]).toEqual(["MOUNT_MISSING", "creds"]);
    expect(err.message).toContain('Secret "creds"');
  });
});
