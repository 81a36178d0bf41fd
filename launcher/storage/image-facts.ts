import type { ImageCheckResult, ImageInfo, ImageInfoResult, ImageTool } from "./deps.ts";
import { DiskError } from "./errors.ts";

/** What we know about an existing image file: its header and, for qcow2, a metadata check. */
export interface ImageFacts {
  info: ImageInfoResult;
  check?: ImageCheckResult;
}

/** Reads an image's header and, when it is qcow2, checks its metadata. Read-only. */
export async function inspectImage(images: ImageTool, path: string): Promise<ImageFacts> {
  const info = await images.info(path);
  if (info.ok && info.info.format === "qcow2" && !info.info.markedCorrupt)
    return { info, check: await images.check(path) };
  return { info };
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
  const { info, check } = facts;
  if (!info.ok) {
    switch (info.reason) {
      case "locked":
        throw new DiskError(
          "ImageInUse",
          disk,
          `${path} is in use by another process (${info.message}); is an earlier QEMU for this VM still running?`,
          { path },
        );
      case "denied":
        throw new DiskError("PermissionDenied", disk, `cannot read ${path}: ${info.message}`, { path });
      case "unreadable":
        throw new DiskError(
          "ImageCorrupt",
          disk,
          `${path} cannot be opened as a disk image: ${info.message}`,
          {
            path,
          },
        );
    }
  }
  const i = info.info;
  if (i.format !== "raw" && i.format !== "qcow2")
    throw new DiskError("UnsupportedFormat", disk, `${path} is a ${i.format} image; use raw or qcow2`, {
      path,
    });
  if (i.backingFile !== undefined || i.dataFile !== undefined)
    throw new DiskError(
      "BackingFileNotAllowed",
      disk,
      `${path} refers to another file (${i.backingFile ?? i.dataFile}); flatten it first ` +
        "(qemu-img convert -O qcow2 <image> <flat image>)",
      { path },
    );
  if (i.markedCorrupt)
    throw new DiskError(
      "ImageCorrupt",
      disk,
      `${path} is marked corrupt by QEMU; repair a copy with qemu-img check -r all, or restore a backup`,
      { path },
    );
  if (check && !check.ok)
    throw new DiskError(
      "ImageCorrupt",
      disk,
      `${path} is corrupt or truncated (qemu-img check: ${check.corruptions} corruptions, ` +
        `${check.checkErrors} check errors: ${check.message}); repair a copy with qemu-img check -r all, or restore a backup`,
      { path },
    );
  return { ...i, format: i.format };
}
