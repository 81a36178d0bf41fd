/**
 * Node disk a launcher pod may use (its emptyDirs: empty disks, containerDisk copies and their overlays, the
 * kernel, scratch), asked for and bounded: the scheduler places the pod where the space is, and the kubelet
 * evicts the pod — not its neighbours — when the VM writes past it. Pure.
 */
import { parseQuantity } from "../../crds/api/quantity.ts";
import type { ResolvedVm } from "../../crds/launcher/resolve.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * Per containerDisk, twice: once for its copied image (its own emptyDir) and once for the qcow2 overlay over
 * it (in state), which grows up to the image's virtual size. The image's size is not known when the pod is
 * built, so each gets this budget (the usual cloud images are 2–4 GiB virtual); docs/storage.md.
 */
export const CONTAINER_DISK_BYTES = 10 * GiB;
/** The kernel and initrd of kernelBoot, copied out of their image. */
export const KERNEL_BYTES = 1 * GiB;
/** The state directory besides empty disks and overlays: the cloud-init ISO, UEFI variables. */
export const STATE_BASE_BYTES = 64 * MiB;
/** The rest the launcher writes: sockets and logs in run, /tmp, the container's log file. */
export const SCRATCH_BYTES = 256 * MiB;

/** What the pod's volumes may hold, in bytes, and the launcher container's request (= limit). */
export interface EphemeralStorage {
  /** sizeLimit of the `state` emptyDir: empty disks, overlays, ISO, UEFI vars. */
  stateBytes: number;
  /** sizeLimit of each containerDisk copy's emptyDir. */
  containerDiskBytes: number;
  /** sizeLimit of the kernel emptyDir (kernelBoot only). */
  kernelBytes: number;
  /** The launcher container's ephemeral-storage request and limit: everything above plus scratch. */
  totalBytes: number;
}

/** Ephemeral storage of the VM's launcher pod. */
export function ephemeralStorage(r: ResolvedVm): EphemeralStorage {
  let emptyDisks = 0;
  let containerDisks = 0;
  for (const d of r.disks) {
    if (d.volume.emptyDisk) emptyDisks += parseQuantity(d.volume.emptyDisk.capacity) ?? 0;
    if (d.volume.containerDisk) containerDisks++;
  }
  const stateBytes = STATE_BASE_BYTES + emptyDisks + containerDisks * CONTAINER_DISK_BYTES;
  const kernelBytes = r.vm.spec.firmware.kernelBoot ? KERNEL_BYTES : 0;
  const containerDiskBytes = CONTAINER_DISK_BYTES;
  return {
    stateBytes,
    containerDiskBytes,
    kernelBytes,
    totalBytes: stateBytes + containerDisks * containerDiskBytes + kernelBytes + SCRATCH_BYTES,
  };
}

/** A byte count as a quantity the API server keeps as written: whole MiB, rounded up. */
export function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}
