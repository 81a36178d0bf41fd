import type { ImageCheckResult, ImageInfo, ImageInfoResult, ImageTool, StorageFs } from "./deps.ts";
import { DiskError } from "./errors.ts";
import { HEADER_BYTES, sniffImageHeader, type HeaderFacts, type SniffedFormat } from "./image-header.ts";

/**
 * How an image's format is decided. A guest-writable image (a claim's `disk.img`) is opened in the format
 * its spec declares — raw unless it says qcow2 — whatever its first bytes say now, since the guest wrote
 * them. A container disk's base is read-only and comes from the image author: its header decides, among
 * raw and qcow2 only.
 */
export type FormatRule = { declared: "raw" | "qcow2" } | { fromHeader: true };

/** What we know about an existing image file: its header as we read it and, when qemu-img ran, its report. */
export interface ImageFacts {
  /** The header as {@link sniffImageHeader} reads it (for a declared format: only for a warning). */
  header: HeaderFacts;
  /** The format the image would be opened in. */
  format: SniffedFormat;
  /** `qemu-img info -f <format>`; absent when the header alone refused the image (qemu-img never saw it). */
  info?: ImageInfoResult;
  check?: ImageCheckResult;
}

/**
 * Reads an image's header ourselves, then — only for raw or a self-contained qcow2 — runs `qemu-img info`
 * with the format given (never a probe) and, for qcow2, a metadata check. Read-only.
 */
export async function inspectImage(
  deps: { fs: Pick<StorageFs, "readHead">; images: ImageTool },
  path: string,
  rule: FormatRule,
): Promise<ImageFacts> {
  const header = sniffImageHeader(await deps.fs.readHead(path, HEADER_BYTES));
  const format = "declared" in rule ? rule.declared : header.format;
  if (format !== "raw" && format !== "qcow2") return { header, format };
  // A qcow2 header that names other files is refused from its bytes: qemu-img would open them.
  if (format === "qcow2" && (header.format !== "qcow2" || header.backingFile || header.externalDataFile))
    return { header, format };
  const info = await deps.images.info(path, format);
  if (info.ok && format === "qcow2" && !info.info.markedCorrupt)
    return { header, format, info, check: await deps.images.check(path) };
  return { header, format, info };
}

/** A warning when a raw image's header looks like another format (a guest may have written it), else undefined. */
export function headerMismatch(path: string, facts: ImageFacts): string | undefined {
  if (facts.format !== "raw" || facts.header.format === "raw") return undefined;
  return (
    `${path} starts like a ${facts.header.format} image but is opened as raw, as its spec declares ` +
    "(a guest may write any bytes to its own disk; declare the format if this image really is qcow2)"
  );
}

/**
 * Decides whether an image may be used: raw or qcow2, intact, not held by another process, and self-contained.
 * Pure. Backing and external data files are refused because their paths come from the image's contents,
 * which the VM's owner (or its guest, for a raw image that starts to look like qcow2) controls.
 */
export function usableImage(
  disk: string,
  path: string,
  facts: ImageFacts,
): ImageInfo & { format: "raw" | "qcow2" } {
  const format = checkedHeader(disk, path, facts);
  if (!facts.info) throw new Error(`unreachable: ${path} was not inspected`);
  const i = openedInfo(disk, path, facts.info);
  checkIntact(disk, path, i, facts.check);
  return { ...i, format };
}

/** What our own header read refuses, before qemu-img sees the file: the format, a missing header, backing files. */
function checkedHeader(disk: string, path: string, { header, format }: ImageFacts): "raw" | "qcow2" {
  if (format !== "raw" && format !== "qcow2")
    throw new DiskError("UNSUPPORTED_FORMAT", disk, `${path} is a ${format} image; use raw or qcow2`, {
      path,
    });
  if (format === "qcow2" && header.format !== "qcow2")
    throw new DiskError(
      "UNSUPPORTED_FORMAT",
      disk,
      `${path} is declared qcow2 but has no qcow2 header` +
        (header.format === "raw" ? "" : ` (it starts like a ${header.format} image)`),
      { path },
    );
  if (format === "qcow2" && (header.backingFile || header.externalDataFile))
    throw new DiskError(
      "BACKING_FILE_NOT_ALLOWED",
      disk,
      `${path} refers to another file (` +
        (header.backingFile
          ? `backing file ${header.backingName ?? "(name not in the first 4 KiB)"}`
          : "an external data file") +
        "); flatten it first (qemu-img convert -O qcow2 <image> <flat image>)",
      { path },
    );
  return format;
}

/** qemu-img info's report, or the DiskError for why it could not open the image. */
function openedInfo(disk: string, path: string, info: ImageInfoResult): ImageInfo {
  if (info.ok) return info.info;
  switch (info.reason) {
    case "locked":
      throw new DiskError(
        "IMAGE_IN_USE",
        disk,
        `${path} is in use by another process (${info.message}); is an earlier QEMU for this VM still running?`,
        { path },
      );
    case "denied":
      throw new DiskError("PERMISSION_DENIED", disk, `cannot read ${path}: ${info.message}`, { path });
    case "unreadable":
      throw new DiskError(
        "IMAGE_CORRUPT",
        disk,
        `${path} cannot be opened as a disk image: ${info.message}`,
        {
          path,
        },
      );
  }
}

/** Refuses what qemu-img found: a backing or data file the header did not show, a corrupt mark, check errors. */
function checkIntact(disk: string, path: string, i: ImageInfo, check: ImageCheckResult | undefined): void {
  if (i.backingFile !== undefined || i.dataFile !== undefined)
    throw new DiskError(
      "BACKING_FILE_NOT_ALLOWED",
      disk,
      `${path} refers to another file (${i.backingFile ?? i.dataFile}); flatten it first ` +
        "(qemu-img convert -O qcow2 <image> <flat image>)",
      { path },
    );
  if (i.markedCorrupt)
    throw new DiskError(
      "IMAGE_CORRUPT",
      disk,
      `${path} is marked corrupt by QEMU; repair a copy with qemu-img check -r all, or restore a backup`,
      { path },
    );
  if (check && !check.ok)
    throw new DiskError(
      "IMAGE_CORRUPT",
      disk,
      `${path} is corrupt or truncated (qemu-img check: ${check.corruptions} corruptions, ` +
        `${check.checkErrors} check errors: ${check.message}); repair a copy with qemu-img check -r all, or restore a backup`,
      { path },
    );
}
