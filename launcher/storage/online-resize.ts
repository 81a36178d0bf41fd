/**
 * Online disk resize, decided purely: a claim's capacity grew while the VM runs, so the disk QEMU has open may
 * grow to what the claim now holds. Filesystem claims follow the same rule as a launcher start (the claim
 * less the filesystem reserve, never more than the volume can hold); a Block claim grows to its device. A disk
 * is never shrunk, and a read-only or non-claim disk is not resized at all.
 */
import { CONTROL_ERRORS } from "../../crds/contract/control.ts";
import { formatBytes, usableImageBytes } from "../../crds/contract/disk-image.ts";

/** What the launcher knows about the disk when the request comes. */
export interface OnlineResizeFacts {
  name: string;
  readOnly: boolean;
  source: "pvcFilesystem" | "pvcBlock" | "other";
  /** The virtual size QEMU reports for the disk now. */
  currentBytes: number;
  /** The claim's capacity from the PVC's status (the operator's request). */
  capacityBytes: number;
  /** Filesystem claims: bytes the image occupies and the volume's free bytes (statfs). */
  volume?: { allocatedBytes: number; availableBytes: number };
  /** Block claims: the device's size now. */
  deviceBytes?: number;
}

/** The decision. */
export type OnlineResizeDecision =
  | { action: "grow"; fromBytes: number; toBytes: number }
  | { action: "unchanged"; sizeBytes: number; note?: string }
  | { action: "refuse"; code: string; message: string };

const refuse = (code: string, message: string): OnlineResizeDecision => ({ action: "refuse", code, message });

/** Decides whether and to what size a running disk grows. */
export function decideOnlineResize(f: OnlineResizeFacts): OnlineResizeDecision {
  if (f.source === "other")
    return refuse(CONTROL_ERRORS.RESIZE_REFUSED, `disk "${f.name}" is not a PersistentVolumeClaim`);
  if (f.readOnly) return refuse(CONTROL_ERRORS.RESIZE_REFUSED, `disk "${f.name}" is read-only`);
  const target = f.source === "pvcBlock" ? (f.deviceBytes ?? 0) : usableImageBytes(f.capacityBytes);
  const shrinkBasis = f.source === "pvcBlock" ? f.capacityBytes : target;
  if (shrinkBasis < f.currentBytes)
    return refuse(
      CONTROL_ERRORS.SHRINK_REFUSED,
      `disk "${f.name}" is ${formatBytes(f.currentBytes)}; a claim of ${formatBytes(f.capacityBytes)} would ` +
        `shrink it to ${formatBytes(shrinkBasis)}, and a disk is never shrunk`,
    );
  if (target <= f.currentBytes) {
    const waiting = f.source === "pvcBlock" && f.capacityBytes > f.currentBytes;
    return {
      action: "unchanged",
      sizeBytes: f.currentBytes,
      ...(waiting ? { note: `the device is still ${formatBytes(f.currentBytes)}; not expanded yet` } : {}),
    };
  }
  if (f.source === "pvcFilesystem") {
    // Like a start: everything the image may occupy must fit, or the guest meets ENOSPC and QEMU pauses it.
    const holdable = f.volume ? f.volume.allocatedBytes + f.volume.availableBytes : 0;
    if (target > holdable)
      return refuse(
        CONTROL_ERRORS.RESIZE_REFUSED,
        `disk "${f.name}" would grow to ${formatBytes(target)}, but the volume holds only ` +
          `${formatBytes(holdable)}; the kubelet has not expanded the filesystem yet`,
      );
  }
  return { action: "grow", fromBytes: f.currentBytes, toBytes: target };
}
