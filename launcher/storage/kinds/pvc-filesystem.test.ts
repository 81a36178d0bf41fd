import { describe, expect, it } from "vitest";
import type { ImageFacts } from "../image-facts.ts";
import { DiskError, type DiskErrorCode } from "../errors.ts";
import { planPvcFilesystem, type PvcFilesystemFacts } from "./pvc-filesystem.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const disk = { name: "root", readOnly: false };
const source = {
  kind: "pvcFilesystem" as const,
  mountPath: "/v/root",
  claimName: "root-pvc",
  capacityBytes: 10 * GiB,
};
const path = "/v/root/disk.img";
const dir = { kind: "directory" as const, sizeBytes: 4096, allocatedBytes: 4096 };
const direct = { path: "/v/root", supported: true };

/** What our header read and the declared format say, for a raw and a qcow2 image. */
const asRaw = { header: { format: "raw" as const }, format: "raw" as const };
const asQcow2 = {
  header: { format: "qcow2" as const, backingFile: false, externalDataFile: false },
  format: "qcow2" as const,
};
const raw = (virtualSizeBytes: number): ImageFacts => ({
  ...asRaw,
  info: { ok: true, info: { format: "raw", virtualSizeBytes, markedCorrupt: false } },
});
const qcow2 = (virtualSizeBytes: number, extra: Partial<ImageFacts> = {}): ImageFacts => ({
  ...asQcow2,
  info: { ok: true, info: { format: "qcow2", virtualSizeBytes, markedCorrupt: false } },
  check: { ok: true, leakedClusters: 0 },
  ...extra,
});
const existing = (
  imageFacts: ImageFacts,
  allocatedBytes: number,
  availableBytes: number,
): PvcFilesystemFacts => ({
  mount: dir,
  image: { kind: "file", sizeBytes: allocatedBytes, allocatedBytes },
  imageFacts,
  space: { totalBytes: 20 * GiB, availableBytes },
  directIo: { path, supported: true },
});
const absent = (availableBytes: number): PvcFilesystemFacts => ({
  mount: dir,
  space: { totalBytes: 20 * GiB, availableBytes },
  directIo: direct,
});

function refusal(f: () => unknown): DiskError {
  try {
    f();
  } catch (e) {
    if (e instanceof DiskError) return e;
    throw e;
  }
  throw new Error("expected a DiskError");
}

function expectRefused(f: () => unknown, code: DiskErrorCode, ...fragments: string[]) {
  const err = refusal(f);
  expect(err.code).toBe(code);
  expect(err.disk).toBe("root");
  expect(err.message).toMatch(/^disk "root": /);
  for (const s of fragments) expect(err.message).toContain(s);
}

describe("planPvcFilesystem: a claim without an image", () => {
  it("creates a sparse raw image of the capacity minus the reserve", () => {
    const plan = planPvcFilesystem(disk, source, absent(10 * GiB));
    expect(plan).toMatchObject({ action: "create", path, format: "raw", sizeBytes: 9676 * MiB });
    expect(plan.options).toMatchObject({ cache: "none", aio: "native", fellBack: false });
  });

  it("sizes to the free space minus the reserve when the capacity is unknown", () => {
    const { capacityBytes: _, ...noCapacity } = source;
    const plan = planPvcFilesystem(disk, noCapacity, absent(1000 * MiB));
    expect(plan).toMatchObject({ action: "create", sizeBytes: 945 * MiB });
  });

  it("refuses when the filesystem has too little free space for the new image", () => {
    expectRefused(
      () => planPvcFilesystem(disk, source, absent(100 * MiB)),
      "INSUFFICIENT_SPACE",
      "claim capacity 10.0 GiB",
      "100.0 MiB",
    );
  });

  it("refuses when nothing usable would remain", () => {
    const { capacityBytes: _, ...noCapacity } = source;
    expectRefused(() => planPvcFilesystem(disk, noCapacity, absent(MiB / 2)), "INSUFFICIENT_SPACE");
  });

  it("creates at the claim's size on a filesystem that reports no size (ramfs), and says so", () => {
    const facts: PvcFilesystemFacts = {
      mount: dir,
      space: { totalBytes: 0, availableBytes: 0 },
      directIo: direct,
    };
    const plan = planPvcFilesystem(disk, source, facts);
    expect(plan).toMatchObject({ action: "create", sizeBytes: 9676 * MiB });
    expect(plan.note).toContain("reports no size");
    const { capacityBytes: _, ...noCapacity } = source;
    expectRefused(() => planPvcFilesystem(disk, noCapacity, facts), "INSUFFICIENT_SPACE", "reports no size");
  });

  it("refuses a read-only claim without an image (it cannot be created)", () => {
    expectRefused(
      () => planPvcFilesystem({ ...disk, readOnly: true }, source, { mount: dir, space: absent(GiB).space! }),
      "IMAGE_MISSING",
      "disk.img",
    );
  });

  it("refuses a missing mount, naming the claim and the path", () => {
    expectRefused(() => planPvcFilesystem(disk, source, {}), "MOUNT_MISSING", "root-pvc", "/v/root");
  });
});

describe("planPvcFilesystem: a claim with an image", () => {
  it("uses an image that already has the claim's size", () => {
    const plan = planPvcFilesystem(disk, source, existing(raw(9676 * MiB), GiB, 9 * GiB));
    expect(plan).toMatchObject({ action: "use", format: "raw", sizeBytes: 9676 * MiB });
    expect(plan).not.toHaveProperty("note");
  });

  it("grows a raw image when the claim grew", () => {
    const plan = planPvcFilesystem(
      disk,
      { ...source, capacityBytes: 20 * GiB },
      existing(raw(9676 * MiB), GiB, 18 * GiB),
    );
    expect(plan).toMatchObject({
      action: "grow",
      format: "raw",
      fromBytes: 9676 * MiB,
      toBytes: 19353 * MiB,
    });
  });

  it("grows a qcow2 image too", () => {
    const plan = planPvcFilesystem(
      disk,
      { ...source, capacityBytes: 20 * GiB },
      existing(qcow2(5 * GiB), GiB, 18 * GiB),
    );
    expect(plan).toMatchObject({ action: "grow", format: "qcow2", fromBytes: 5 * GiB });
  });

  it("never shrinks an image larger than the claim's reserve-adjusted capacity", () => {
    const plan = planPvcFilesystem(disk, source, existing(raw(10 * GiB), 10 * GiB, 0));
    expect(plan).toMatchObject({ action: "use", sizeBytes: 10 * GiB });
  });

  it("does not grow (and says why) when the claim grew but the filesystem has not", () => {
    const plan = planPvcFilesystem(
      disk,
      { ...source, capacityBytes: 20 * GiB },
      existing(raw(9 * GiB), GiB, 9 * GiB),
    );
    expect(plan).toMatchObject({ action: "use", sizeBytes: 9 * GiB });
    expect(plan.action === "use" && plan.note).toContain("not growing");
  });

  it("does not grow a read-only disk", () => {
    const plan = planPvcFilesystem(
      { ...disk, readOnly: true },
      { ...source, capacityBytes: 20 * GiB },
      existing(raw(5 * GiB), GiB, 18 * GiB),
    );
    expect(plan.action).toBe("use");
  });

  it("refuses an image larger than the filesystem could ever hold", () => {
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(raw(50 * GiB), GiB, 9 * GiB)),
      "IMAGE_TOO_LARGE",
      "50.0 GiB",
      "10.0 GiB",
    );
  });

  it("refuses a corrupt or truncated qcow2 image", () => {
    const corrupt = qcow2(GiB, {
      check: {
        ok: false,
        corruptions: 117,
        checkErrors: 0,
        message: "ERROR: offset beyond the end of the file",
      },
    });
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(corrupt, GiB, 9 * GiB)),
      "IMAGE_CORRUPT",
      path,
      "117 corruptions",
    );
  });

  it("refuses an image whose header cannot be read", () => {
    const unreadable: ImageFacts = {
      ...asQcow2,
      info: { ok: false, reason: "unreadable", message: "qcow2 header too short" },
    };
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(unreadable, 4096, 9 * GiB)),
      "IMAGE_CORRUPT",
      "qcow2 header too short",
    );
  });

  it("refuses an image QEMU marked corrupt", () => {
    const marked: ImageFacts = {
      ...asQcow2,
      info: { ok: true, info: { format: "qcow2", virtualSizeBytes: GiB, markedCorrupt: true } },
    };
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(marked, GiB, 9 * GiB)),
      "IMAGE_CORRUPT",
      "marked corrupt",
    );
  });

  it("refuses an image another process holds", () => {
    const locked: ImageFacts = {
      ...asQcow2,
      info: { ok: false, reason: "locked", message: 'Failed to get shared "write" lock' },
    };
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(locked, GiB, 9 * GiB)),
      "IMAGE_IN_USE",
      "another process",
    );
  });

  it("refuses images with backing files and formats other than raw and qcow2", () => {
    const backed: ImageFacts = {
      ...asQcow2,
      info: {
        ok: true,
        info: { format: "qcow2", virtualSizeBytes: GiB, markedCorrupt: false, backingFile: "/etc/shadow" },
      },
      check: { ok: true, leakedClusters: 0 },
    };
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(backed, GiB, 9 * GiB)),
      "BACKING_FILE_NOT_ALLOWED",
      "/etc/shadow",
    );
    const vmdk: ImageFacts = { header: { format: "vmdk" }, format: "vmdk" };
    expectRefused(
      () => planPvcFilesystem(disk, source, existing(vmdk, GiB, 9 * GiB)),
      "UNSUPPORTED_FORMAT",
      "vmdk",
    );
  });

  it("refuses a disk.img that is not a file", () => {
    const facts: PvcFilesystemFacts = {
      mount: dir,
      image: dir,
      space: { totalBytes: GiB, availableBytes: GiB },
    };
    expectRefused(() => planPvcFilesystem(disk, source, facts), "UNSUPPORTED_FORMAT", "directory");
  });

  it("falls back from cache=none where the claim's storage lacks O_DIRECT", () => {
    const facts = { ...existing(raw(GiB), GiB, 9 * GiB), directIo: { path, supported: false } };
    expect(planPvcFilesystem(disk, source, facts).options).toMatchObject({
      cache: "writethrough",
      aio: "threads",
      fellBack: true,
      probedPath: path,
    });
  });
});
