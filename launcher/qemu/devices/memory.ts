import type { DeviceArgs, DeviceContext } from "../inputs.ts";
import { formatCpuList, numaMemory, type GuestNumaNode } from "../pinning.ts";
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
export const memoryArgs: DeviceArgs = ({ config, inputs }) => {
  const { guestBytes, hugepages } = config.memory;
  const args = ["-m", qemuSize(guestBytes)];
  const numa = inputs.dedicated?.numa ?? [];
  if (numa.length) return [...args, ...numaArgs(config.memory, numa)];
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

const PAGE_BYTES = { "2Mi": 2 * MiB, "1Gi": 1024 * MiB } as const;

/**
 * Guest NUMA nodes mirroring the host nodes the vCPUs are pinned on: each node's memory is a backend bound
 * to its host node (hugetlbfs-backed with hugepages), and `-numa node` names its vCPUs. QEMU refuses
 * `-machine memory-backend` beside `-numa memdev`, so machine.ts leaves it out when nodes are given.
 */
function numaArgs(memory: DeviceContext["config"]["memory"], nodes: GuestNumaNode[]): string[] {
  const { guestBytes, hugepages } = memory;
  const sizes = numaMemory(guestBytes, hugepages ? PAGE_BYTES[hugepages.pageSize] : MiB, nodes);
  return nodes.flatMap((node, i) => {
    const id = `${GUEST_RAM_ID}-node${i}`;
    const common = { id, size: qemuSize(sizes[i]!), "host-nodes": node.hostNode, policy: "bind" };
    const backend = hugepages
      ? opts("memory-backend-file", {
          ...common,
          "mem-path": hugepages.mountPath,
          share: false,
          prealloc: true,
        })
      : opts("memory-backend-ram", common);
    // Each range is its own cpus= key: QEMU's option parser has no list syntax for it.
    const cpus = formatCpuList(node.vcpus)
      .split(",")
      .map((r) => `cpus=${r}`)
      .join(",");
    return ["-object", backend, "-numa", `node,nodeid=${i},${cpus},memdev=${id}`];
  });
}
