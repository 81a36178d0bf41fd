import { describe, expect, it } from "vitest";
import type { ImageTool } from "./deps.ts";
import { headerMismatch, inspectImage, usableImage } from "./image-facts.ts";
import { sniffImageHeader } from "./image-header.ts";
import { limitedArgv } from "./run.ts";

/** A qcow2 v3 header as qemu-img writes it: magic, version, backing offset/size, … incompatible features. */
function qcow2Header(opts: { backing?: string; dataFile?: boolean } = {}): Buffer {
  const b = Buffer.alloc(4096);
  b.set([0x51, 0x46, 0x49, 0xfb]);
  b.writeUInt32BE(3, 4);
  if (opts.backing) {
    b.writeBigUInt64BE(512n, 8);
    b.writeUInt32BE(opts.backing.length, 16);
    b.write(opts.backing, 512, "latin1");
  }
  if (opts.dataFile) b.writeBigUInt64BE(1n << 2n, 72);
  return b;
}

const vmdkDescriptor = Buffer.from(
  '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n' +
    'RW 2048 FLAT "/etc/shadow" 0\n',
);

describe("sniffImageHeader", () => {
  it("reads qcow2 headers, with their backing file and external data file bits", () => {
    expect(sniffImageHeader(qcow2Header())).toEqual({
      format: "qcow2",
      backingFile: false,
      externalDataFile: false,
    });
    expect(sniffImageHeader(qcow2Header({ backing: "/etc/shadow" }))).toMatchObject({
      backingFile: true,
      backingName: "/etc/shadow",
    });
    expect(sniffImageHeader(qcow2Header({ dataFile: true }))).toMatchObject({ externalDataFile: true });
  });

  it("recognises VMDK (sparse and descriptor) and other formats, and calls the rest raw", () => {
    expect(sniffImageHeader(vmdkDescriptor).format).toBe("vmdk");
    expect(sniffImageHeader(Buffer.from("KDMV\x01\x00\x00\x00", "latin1")).format).toBe("vmdk");
    expect(sniffImageHeader(Buffer.from("vhdxfile")).format).toBe("vhdx");
    expect(sniffImageHeader(Buffer.from("conectix")).format).toBe("vpc");
    expect(sniffImageHeader(Buffer.alloc(4096)).format).toBe("raw");
    expect(sniffImageHeader(Buffer.alloc(0)).format).toBe("raw");
    expect(sniffImageHeader(Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1])).format).toBe("qcow");
  });
});

/** An image tool that records which formats qemu-img was asked to open. */
function recordingImages() {
  const calls: string[] = [];
  const images: ImageTool = {
    info: async (path, format) => (
      calls.push(`info -f ${format} ${path}`),
      { ok: true, info: { format, virtualSizeBytes: 1 << 20, markedCorrupt: false } }
    ),
    check: async (path) => (calls.push(`check ${path}`), { ok: true, leakedClusters: 0 }),
    createOverlay: async () => undefined,
    resize: async () => undefined,
  };
  return { images, calls };
}

describe("inspectImage", () => {
  const fsWith = (head: Buffer) => ({ readHead: async () => head });

  it("opens a guest-writable image in its declared format, whatever header the guest wrote", async () => {
    for (const head of [qcow2Header({ backing: "/etc/shadow" }), vmdkDescriptor]) {
      const { images, calls } = recordingImages();
      const facts = await inspectImage({ fs: fsWith(head), images }, "/v/disk.img", { declared: "raw" });
      expect(calls).toEqual(["info -f raw /v/disk.img"]);
      expect(usableImage("root", "/v/disk.img", facts).format).toBe("raw");
      expect(headerMismatch("/v/disk.img", facts)).toMatch(
        /starts like a (qcow2|vmdk) image but is opened as raw/,
      );
    }
  });

  it("refuses a base whose header is not raw or self-contained qcow2 before qemu-img sees it", async () => {
    for (const [head, code] of [
      [vmdkDescriptor, "UNSUPPORTED_FORMAT"],
      [qcow2Header({ backing: "/etc/shadow" }), "BACKING_FILE_NOT_ALLOWED"],
      [qcow2Header({ dataFile: true }), "BACKING_FILE_NOT_ALLOWED"],
    ] as const) {
      const { images, calls } = recordingImages();
      const facts = await inspectImage({ fs: fsWith(head), images }, "/cd/d.img", { fromHeader: true });
      expect(calls).toEqual([]);
      expect(() => usableImage("root", "/cd/d.img", facts)).toThrow(expect.objectContaining({ code }));
    }
    const { images, calls } = recordingImages();
    const ok = await inspectImage({ fs: fsWith(qcow2Header()), images }, "/cd/d.img", { fromHeader: true });
    expect(calls).toEqual(["info -f qcow2 /cd/d.img", "check /cd/d.img"]);
    expect(usableImage("root", "/cd/d.img", ok).format).toBe("qcow2");
  });

  it("refuses an image declared qcow2 that has no qcow2 header", async () => {
    const { images, calls } = recordingImages();
    const facts = await inspectImage({ fs: fsWith(Buffer.alloc(512)), images }, "/v/disk.img", {
      declared: "qcow2",
    });
    expect(calls).toEqual([]);
    expect(() => usableImage("root", "/v/disk.img", facts)).toThrow(/declared qcow2 but has no qcow2 header/);
  });
});

describe("limitedArgv", () => {
  it("runs a program under prlimit with address-space and CPU limits", () => {
    expect(limitedArgv("qemu-img", ["info"], { addressSpaceBytes: 1 << 30, cpuSeconds: 30 })).toEqual([
      "prlimit",
      "--as=1073741824",
      "--cpu=30",
      "--",
      "qemu-img",
      "info",
    ]);
    expect(limitedArgv("qemu-img", ["info"])).toEqual(["qemu-img", "info"]);
  });
});
