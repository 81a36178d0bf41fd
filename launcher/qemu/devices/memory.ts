import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/** The id of the memory backend object when guest RAM is not QEMU's default anonymous memory. */
export const GUEST_RAM_ID = "guest-ram";

const MiB = 2 ** 20;

/** A size as QEMU's size parser reads it: MiB when whole, else bytes. */
export function qemuSize(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB}M` : `${bytes}B`;
}

/**
 * Guest memory. With hugepages the RAM comes from a file on the pod's hugetlbfs mount, preallocated so a
 * node without enough free hugepages fails at start instead of killing the guest later.
 */
export const memoryArgs: DeviceArgs = ({ config }) => {
  const { guestBytes, hugepages } = config.memory;
  const args = ["-m", qemuSize(guestBytes)];
  if (hugepages) {
    args.push(
      "-object",
      opts("memory-backend-file", {
        id: GUEST_RAM_ID,
        size: qemuSize(guestBytes),
        "mem-path": hugepages.mountPath,
        share: false,
        prealloc: true,
      }),
    );
  }
  return args;
};
