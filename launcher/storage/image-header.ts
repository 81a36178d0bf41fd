/**
 * What an image's first bytes say it is, read by us rather than by qemu-img's format probe. Pure and
 * bounded: it looks at {@link HEADER_BYTES} bytes at most and never follows anything they name.
 *
 * Why not let qemu-img probe: a probe trusts the file's contents, and for a raw disk the contents are the
 * guest's. A guest that writes a qcow2 header (with a backing file) or a VMDK descriptor (with extents)
 * into its own disk would change how the host opens it next time — and a VMDK descriptor makes qemu-img
 * open whatever host paths it names. So a guest-writable image is opened in the format the spec declares
 * (raw by default) and this sniff only feeds a warning; for a container disk's read-only base it decides
 * raw or qcow2, and anything else is refused before qemu-img sees the file.
 */

/** Bytes of the header read: enough for every magic below and a qcow2 v3 header. */
export const HEADER_BYTES = 4096;

/** Formats recognised by their magic; `raw` is everything else. */
export type SniffedFormat =
  | "raw"
  | "qcow2"
  | "qcow"
  | "vmdk"
  | "vhdx"
  | "vpc"
  | "vdi"
  | "qed"
  | "luks"
  | "parallels"
  | "bochs"
  | "cloop";

/** What the header says. */
export interface HeaderFacts {
  format: SniffedFormat;
  /** qcow2: the header names a backing file. */
  backingFile?: boolean;
  /** qcow2 v3: the "external data file" incompatible feature bit is set. */
  externalDataFile?: boolean;
  /** qcow2: the backing file's name, when it lies within the bytes read (for the error; never opened). */
  backingName?: string;
}

const startsWith = (b: Buffer, magic: string | number[], at = 0) => {
  const m = typeof magic === "string" ? Buffer.from(magic, "latin1") : Buffer.from(magic);
  return b.length >= at + m.length && b.subarray(at, at + m.length).equals(m);
};

/** QCOW2_INCOMPAT_DATA_FILE (docs/interop/qcow2.txt): bit 2 of the incompatible features. */
const QCOW2_INCOMPAT_DATA_FILE = 1n << 2n;

/** Reads the format and, for qcow2, whether it refers to other files. */
export function sniffImageHeader(head: Buffer): HeaderFacts {
  const b = head.subarray(0, HEADER_BYTES);
  if (startsWith(b, [0x51, 0x46, 0x49, 0xfb])) {
    if (b.length >= 8 && b.readUInt32BE(4) < 2) return { format: "qcow" };
    // Too short to name anything: qemu-img will call it truncated.
    if (b.length < 20) return { format: "qcow2", backingFile: false, externalDataFile: false };
    const version = b.readUInt32BE(4);
    const offset = b.readBigUInt64BE(8);
    const size = b.readUInt32BE(16);
    const externalDataFile =
      version >= 3 && b.length >= 80 && (b.readBigUInt64BE(72) & QCOW2_INCOMPAT_DATA_FILE) !== 0n;
    if (offset === 0n) return { format: "qcow2", backingFile: false, externalDataFile };
    const at = Number(offset);
    const name =
      offset < BigInt(b.length) && size <= 1023 && at + size <= b.length
        ? b
            .subarray(at, at + size)
            .toString("latin1")
            .replace(/[^\x20-\x7e]/g, "?")
        : undefined;
    return { format: "qcow2", backingFile: true, externalDataFile, ...(name ? { backingName: name } : {}) };
  }
  if (startsWith(b, "KDMV") || startsWith(b, "COWD")) return { format: "vmdk" };
  // A VMDK descriptor is text; QEMU's probe looks for this line anywhere in the first bytes.
  if (b.includes("# Disk DescriptorFile")) return { format: "vmdk" };
  if (startsWith(b, "vhdxfile")) return { format: "vhdx" };
  if (startsWith(b, "conectix")) return { format: "vpc" };
  if (startsWith(b, [0x7f, 0x10, 0xda, 0xbe], 64)) return { format: "vdi" };
  if (startsWith(b, [0x51, 0x45, 0x44, 0x00])) return { format: "qed" };
  if (startsWith(b, [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe])) return { format: "luks" };
  if (startsWith(b, "WithoutFreeSpace") || startsWith(b, "WithouFreSpacExt")) return { format: "parallels" };
  if (startsWith(b, "Bochs Virtual HD Image")) return { format: "bochs" };
  if (b.includes("#!/bin/sh\n#V2.0 Format\nmodprobe cloop")) return { format: "cloop" };
  return { format: "raw" };
}
