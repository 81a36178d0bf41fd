import { describe, expect, it } from "vitest";
import {
  checksumRefusal,
  downloadFailure,
  filesystemDiskBytes,
  judgeImage,
  looksLikeText,
  overallPercent,
  parseQemuProgress,
  redact,
  sniffCompression,
  type QemuInfo,
} from "./decide.ts";

const MiB = 2 ** 20;
const bin = new Uint8Array(512).fill(0xeb);
const raw = (size: number): QemuInfo => ({ format: "raw", "virtual-size": size });
const qcow2 = (size: number, extra: Partial<QemuInfo> = {}): QemuInfo => ({
  format: "qcow2",
  "virtual-size": size,
  ...extra,
});

describe("judgeImage", () => {
  const file = { bytes: 16 * MiB, head: bin };
  it("accepts raw and qcow2 within the target", () => {
    expect(judgeImage(raw(16 * MiB), undefined, file, 32 * MiB)).toEqual({
      ok: true,
      format: "raw",
      virtualSize: 16 * MiB,
    });
    const check = { "check-errors": 0, corruptions: 0, "image-end-offset": 1 * MiB };
    expect(judgeImage(qcow2(64 * MiB), check, { ...file, bytes: MiB }, 64 * MiB)).toMatchObject({
      ok: true,
      format: "qcow2",
    });
  });
  it.each([
    ["vmdk", { format: "vmdk", "virtual-size": MiB }, "UnsupportedFormat"],
    ["a backing file", qcow2(MiB, { "backing-filename": "/etc/shadow" }), "BackingFileRefused"],
    [
      "an external data file",
      qcow2(MiB, { "format-specific": { data: { "data-file": "/dev/sda" } } }),
      "ExternalDataFileRefused",
    ],
    ["too large", raw(64 * MiB), "ImageTooLarge"],
  ] as const)("refuses %s", (_, info, reason) => {
    const check = { "check-errors": 0, corruptions: 0 };
    expect(judgeImage(info as QemuInfo, check, file, 32 * MiB)).toMatchObject({ ok: false, reason });
  });
  it("refuses text probed as raw, odd sizes and empty files", () => {
    const page = new TextEncoder().encode("  <!DOCTYPE html><html>");
    expect(judgeImage(raw(1024), undefined, { bytes: 1024, head: page }, MiB)).toMatchObject({
      reason: "NotAnImage",
    });
    expect(judgeImage(raw(1000), undefined, { bytes: 1000, head: bin }, MiB)).toMatchObject({
      reason: "NotAnImage",
    });
    expect(judgeImage(raw(0), undefined, { bytes: 0, head: new Uint8Array() }, MiB)).toMatchObject({
      reason: "NotAnImage",
    });
    const typed = { bytes: 1024, head: bin, contentType: "text/html; charset=utf-8" };
    expect(judgeImage(raw(1024), undefined, typed, MiB)).toMatchObject({ reason: "NotAnImage" });
  });
  it("refuses a truncated or corrupt qcow2, and one qemu-img could not check", () => {
    const small = { bytes: 3 * MiB, head: bin };
    expect(
      judgeImage(qcow2(MiB), { "image-end-offset": 8 * MiB, corruptions: 0 }, small, 16 * MiB),
    ).toMatchObject({
      reason: "TruncatedImage",
    });
    expect(
      judgeImage(qcow2(MiB), { corruptions: 87, "image-end-offset": MiB }, small, 16 * MiB),
    ).toMatchObject({
      reason: "TruncatedImage",
    });
    expect(judgeImage(qcow2(MiB), { "check-errors": 1 }, small, 16 * MiB)).toMatchObject({
      reason: "CorruptImage",
    });
    expect(judgeImage(qcow2(MiB), undefined, small, 16 * MiB)).toMatchObject({ reason: "CorruptImage" });
  });
});

describe("downloadFailure", () => {
  it.each([
    [0, 200, undefined],
    [0, 404, "HttpError"],
    [0, 500, "HttpError"],
    [0, 304, "HttpError"],
    [7, 0, "Unreachable"],
    [28, 0, "Unreachable"],
    [47, 302, "TooManyRedirects"],
    [60, 0, "TlsError"],
    [23, 200, "DownloadFailed"],
  ])("curl exit %i, HTTP %i → %s", (exit, code, reason) => {
    expect(downloadFailure(exit, code, "http://u:p@h/x.img?token=1")?.reason).toBe(reason);
  });
  it("never puts credentials from the URL in a message", () => {
    expect(downloadFailure(0, 404, "https://u:p@h:8443/a/x.img?sig=abc")?.message).toBe(
      "https://h:8443/a/x.img answered HTTP 404",
    );
    expect(redact("not a url")).toBe("(bad URL)");
  });
});

describe("small decisions", () => {
  it("sniffs compression by magic", () => {
    expect(sniffCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1]))).toBe("xz");
    expect(sniffCompression(Uint8Array.from([0x1f, 0x8b, 8]))).toBe("gzip");
    expect(sniffCompression(new TextEncoder().encode("QFI\xfb"))).toBe("none");
  });
  it("compares checksums case-insensitively", () => {
    expect(checksumRefusal("sha256", "AB", "ab")).toBeUndefined();
    expect(checksumRefusal("sha256", "ab", "cd")).toMatchObject({ reason: "ChecksumMismatch" });
  });
  it("reads text heads", () => {
    expect(looksLikeText(new TextEncoder().encode("\n<html>"))).toBe(true);
    expect(looksLikeText(bin)).toBe(false);
    expect(looksLikeText(bin, "application/json")).toBe(true);
  });
  it("sizes disk.img to the claim less 5.5 %, in whole MiB", () => {
    expect(filesystemDiskBytes(10 * 2 ** 30)).toBe(9676 * MiB);
    expect(filesystemDiskBytes(64 * MiB) % MiB).toBe(0);
  });
  it("maps stages to one progress bar", () => {
    expect(overallPercent("transfer", 0)).toBe(0);
    expect(overallPercent("transfer", 0.5)).toBe(35);
    expect(overallPercent("convert", 1)).toBe(100);
    expect(overallPercent("convert", 7)).toBe(100);
    expect(overallPercent("transfer", NaN)).toBe(0);
  });
  it("parses qemu-img -p output", () => {
    expect(parseQemuProgress("    (0.00/100%)\r    (45.50/100%)\r")).toBeCloseTo(0.455);
    expect(parseQemuProgress("nothing")).toBeUndefined();
  });
});
