import type { SniffedFormat } from "../image-header.ts";
import { describe, expect, it } from "vitest";
import type { DiskError } from "../errors.ts";
import { baseCandidates, pickBase, planContainerDisk, type ContainerDiskFacts } from "./container-disk.ts";

const file = { kind: "file" as const, sizeBytes: 1, allocatedBytes: 1 };
const dir = { kind: "directory" as const, sizeBytes: 1, allocatedBytes: 1 };
const source = { image: "example/disk:1", dir: "/cd/root" };

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as DiskError).code;
  }
  return "none";
}

describe("containerDisk base image", () => {
  it("looks for a named file in both the image-volume and the copied layout", () => {
    expect(baseCandidates({ ...source, path: "/disk/debian.qcow2" })).toEqual([
      "/cd/root/disk/debian.qcow2",
      "/cd/root/debian.qcow2",
    ]);
    expect(baseCandidates({ ...source, path: "/images/x.raw" })).toEqual(["/cd/root/images/x.raw"]);
  });

  it("picks the first candidate that is a file", () => {
    const listing = {
      dir,
      candidates: [{ path: "/cd/root/disk/d.qcow2" }, { path: "/cd/root/d.qcow2", facts: file }],
    };
    expect(pickBase("root", { ...source, path: "/disk/d.qcow2" }, listing)).toBe("/cd/root/d.qcow2");
  });

  it("picks the single file of the directory, ignoring directories", () => {
    const listing = {
      dir,
      searched: {
        dir: "/cd/root",
        entries: [
          { path: "/cd/root/d.img", facts: file },
          { path: "/cd/root/x", facts: dir },
        ],
      },
    };
    expect(pickBase("root", source, listing)).toBe("/cd/root/d.img");
  });

  it("refuses a missing volume, an empty one, and one with several files", () => {
    expect(codeOf(() => pickBase("root", source, {}))).toBe("BASE_IMAGE_MISSING");
    expect(codeOf(() => pickBase("root", source, { dir, searched: { dir: "/cd/root", entries: [] } }))).toBe(
      "BASE_IMAGE_MISSING",
    );
    expect(
      codeOf(() =>
        pickBase("root", { ...source, path: "/disk/a" }, { dir, candidates: [{ path: "/cd/root/disk/a" }] }),
      ),
    ).toBe("BASE_IMAGE_MISSING");
    const two = {
      dir,
      searched: {
        dir: "/cd/root",
        entries: [
          { path: "/cd/root/a", facts: file },
          { path: "/cd/root/b", facts: file },
        ],
      },
    };
    expect(codeOf(() => pickBase("root", source, two))).toBe("AMBIGUOUS_BASE_IMAGE");
  });
});

describe("planContainerDisk", () => {
  const facts = (
    baseDirect: boolean,
    overlayDirect: boolean,
    format: SniffedFormat = "qcow2",
  ): ContainerDiskFacts => ({
    base: "/cd/root/d.qcow2",
    image: {
      header: { format },
      format,
      info: { ok: true, info: { format, virtualSizeBytes: 2 ** 30, markedCorrupt: false } },
    },
    baseDirectIo: { path: "/cd/root/d.qcow2", supported: baseDirect },
    overlayDirectIo: { path: "/state/disks", supported: overlayDirect },
  });

  it("makes a fresh qcow2 overlay in the state directory on the detected base format", () => {
    expect(
      planContainerDisk({ name: "root" }, facts(true, true, "raw"), { disksDir: "/state/disks" }),
    ).toMatchObject({
      action: "overlay",
      base: "/cd/root/d.qcow2",
      baseFormat: "raw",
      overlay: "/state/disks/root.overlay.qcow2",
      options: { cache: "none", aio: "native" },
    });
  });

  it("falls back unless both the base and the overlay support O_DIRECT, naming the one that does not", () => {
    const layout = { disksDir: "/state/disks" };
    expect(planContainerDisk({ name: "root" }, facts(false, true), layout).options).toMatchObject({
      cache: "writethrough",
      probedPath: "/cd/root/d.qcow2",
    });
    expect(planContainerDisk({ name: "root" }, facts(true, false), layout).options).toMatchObject({
      cache: "writethrough",
      probedPath: "/state/disks",
    });
  });
});
