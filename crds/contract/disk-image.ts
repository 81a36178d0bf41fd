/**
 * How big a disk image on a claim may be: the launcher (creating and growing disk.img) and the importer
 * (writing it) must agree to the byte, so the rule is a contract.
 */
/**
 * How big a new PVC disk image is. A filesystem cannot hand all of its capacity to one file: metadata,
 * journal and reserved blocks take their share, so an image sized to the claim would fill up before the
 * guest did and QEMU would pause the VM on ENOSPC. We keep back the same share CDI's default
 * `filesystemOverhead` does (5.5 %), which KubeVirt users already know.
 */
export const FILESYSTEM_RESERVE_RATIO = 0.055;

/** Image sizes are whole MiB: every guest sector size and qcow2 cluster size divides it. */
export const IMAGE_ALIGNMENT_BYTES = 2 ** 20;

/** No disk is smaller than this; a claim that leaves less after the reserve is refused. */
export const MIN_IMAGE_BYTES = IMAGE_ALIGNMENT_BYTES;

/** Rounds down to a whole number of MiB. */
export function alignDown(bytes: number): number {
  return Math.floor(bytes / IMAGE_ALIGNMENT_BYTES) * IMAGE_ALIGNMENT_BYTES;
}

/** Rounds up to a whole number of MiB. */
export function alignUp(bytes: number): number {
  return Math.ceil(bytes / IMAGE_ALIGNMENT_BYTES) * IMAGE_ALIGNMENT_BYTES;
}

/** The image size a space of `bytes` can hold: the space minus the filesystem reserve, in whole MiB. */
export function usableImageBytes(bytes: number): number {
  return alignDown(bytes - Math.ceil(bytes * FILESYSTEM_RESERVE_RATIO));
}

/** "10.0 GiB (10737418240 bytes)": readable, and exact for whoever compares numbers. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[u]} (${bytes} bytes)`;
}
