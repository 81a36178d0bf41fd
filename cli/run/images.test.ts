import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseImageName, resolveImagePath } from "./images.ts";

const dir = mkdtempSync(join(tmpdir(), "vireo-images-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("standalone images", () => {
  it("parses names with and without tags and digests", () => {
    expect(parseImageName("example.com/disk:1")).toEqual({ repository: "example.com/disk", tag: "1" });
    expect(parseImageName("localhost:5000/disk")).toEqual({
      repository: "localhost:5000/disk",
      tag: "latest",
    });
    expect(parseImageName("a/b@sha256:abc")).toEqual({ repository: "a/b", tag: "sha256-abc" });
  });

  it("maps the test guest to the cached build and other images to local directories", () => {
    const cache = join(dir, "cache");
    mkdirSync(join(cache, "guest", "current"), { recursive: true });
    writeFileSync(join(cache, "guest", "current", "vmlinuz"), "k");
    writeFileSync(join(cache, "guest", "current", "initramfs.cpio.gz"), "i");
    mkdirSync(join(dir, "images", "example.com", "disk", "1", "disk"), { recursive: true });
    writeFileSync(join(dir, "images", "example.com", "disk", "1", "disk", "d.qcow2"), "d");
    const dirs = { cache, images: join(dir, "images") };
    expect(resolveImagePath("vireo.dev/test-guest", "/boot/vmlinuz", dirs)).toBe(
      join(cache, "guest/current/vmlinuz"),
    );
    expect(resolveImagePath("vireo.dev/test-guest:v1", "/boot/initrd", dirs)).toBe(
      join(cache, "guest/current/initramfs.cpio.gz"),
    );
    expect(resolveImagePath("example.com/disk:1", "/", dirs)).toBe(join(dir, "images/example.com/disk/1/"));
    expect(() => resolveImagePath("vireo.dev/test-guest", "/etc/passwd", dirs)).toThrowError(/holds only/);
    expect(() => resolveImagePath("example.com/other", "/", dirs)).toThrowError(
      expect.objectContaining({ code: "IMAGE_NOT_FOUND" }),
    );
  });
});
