/**
 * Dedicated CPU placement, decided purely: which CPU of the pod's cpuset each vCPU thread gets, where QEMU's
 * other (emulator) threads run, and the guest NUMA nodes that mirror the host nodes of those CPUs. The
 * launcher reads the facts (its own affinity, sysfs, QMP thread ids) and carries the plan out with taskset.
 */

/** Why a placement cannot be made; the VM fails to start with this code and message. */
export class PinningError extends Error {
  constructor(
    readonly code: "CPUSET_TOO_SMALL" | "VCPU_THREADS_UNKNOWN" | "BAD_CPU_LIST",
    message: string,
  ) {
    super(message);
    this.name = "PinningError";
  }
}

/** The CPUs each vCPU and the emulator threads get. */
export interface PinningPlan {
  /** vcpuCpus[i]: the host CPU of vCPU i (its cpu-index). */
  vcpuCpus: number[];
  /** CPUs of every QEMU thread that is not a vCPU: the isolated one, or all the vCPUs' CPUs. */
  emulatorCpus: number[];
}

/** One guest NUMA node: the host node it mirrors and the vCPUs (cpu-index) on it. */
export interface GuestNumaNode {
  hostNode: number;
  vcpus: number[];
}

/** Parses a kernel CPU list (`0-3,8,10-11`, as in Cpus_allowed_list and sysfs cpulist files). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new PinningError("BAD_CPU_LIST", `not a CPU list: ${JSON.stringify(list)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Formats CPUs as a kernel CPU list with ranges (`0-2,5`). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * vCPU i gets the i-th CPU of the cpuset (lowest first, as the static CPU manager hands out whole cores
 * together); an isolated emulator thread gets the next one. Extra CPUs in the set stay unused.
 */
export function pinningPlan(allowed: readonly number[], vcpus: number, isolate: boolean): PinningPlan {
  const cpus = [...new Set(allowed)].sort((a, b) => a - b);
  const need = vcpus + (isolate ? 1 : 0);
  if (cpus.length < need)
    throw new PinningError(
      "CPUSET_TOO_SMALL",
      `dedicated CPUs need ${need} CPUs (${vcpus} vCPUs${isolate ? " + 1 for the emulator thread" : ""}), ` +
        `the launcher may run on ${cpus.length} (${formatCpuList(cpus)})`,
    );
  const vcpuCpus = cpus.slice(0, vcpus);
  return { vcpuCpus, emulatorCpus: isolate ? [cpus[vcpus]!] : vcpuCpus };
}

/**
 * One guest node per host node that holds some vCPU's CPU, in host-node order; vCPUs keep their order.
 * A CPU sysfs does not place on a node is treated as node 0 (kernels without NUMA report none).
 */
export function numaPlan(
  vcpuCpus: readonly number[],
  nodeOfCpu: ReadonlyMap<number, number>,
): GuestNumaNode[] {
  const byNode = new Map<number, number[]>();
  vcpuCpus.forEach((cpu, vcpu) => {
    const node = nodeOfCpu.get(cpu) ?? 0;
    byNode.set(node, [...(byNode.get(node) ?? []), vcpu]);
  });
  return [...byNode.entries()].sort(([a], [b]) => a - b).map(([hostNode, vcpus]) => ({ hostNode, vcpus }));
}

/** Guest memory split over the nodes in whole units (hugepages or MiB) by vCPU share; the last takes the rest. */
export function numaMemory(guestBytes: number, unitBytes: number, nodes: readonly GuestNumaNode[]): number[] {
  const vcpus = nodes.reduce((n, g) => n + g.vcpus.length, 0);
  const units = Math.floor(guestBytes / unitBytes);
  const sizes = nodes.map((g) => Math.floor((units * g.vcpus.length) / vcpus) * unitBytes);
  sizes[sizes.length - 1]! += guestBytes - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/** A QMP `query-cpus-fast` entry, as far as pinning reads it. */
export interface VcpuThread {
  "cpu-index": number;
  "thread-id": number;
}

/** One taskset call: a thread and the CPUs it may run on. */
export interface ThreadPin {
  tid: number;
  cpus: number[];
  role: "vcpu" | "emulator";
}

/**
 * Every QEMU thread's pin: each vCPU thread to its CPU, every other thread of the process to the emulator
 * CPUs. Refuses when QMP does not name one thread per vCPU (e.g. single-threaded TCG runs all vCPUs on one).
 */
export function threadPins(
  plan: PinningPlan,
  vcpuThreads: readonly VcpuThread[],
  tids: readonly number[],
): ThreadPin[] {
  const byIndex = new Map(vcpuThreads.map((t) => [t["cpu-index"], t["thread-id"]]));
  const vcpuTids = plan.vcpuCpus.map((_, i) => byIndex.get(i));
  if (vcpuTids.some((t) => t === undefined) || new Set(vcpuTids).size !== vcpuTids.length)
    throw new PinningError(
      "VCPU_THREADS_UNKNOWN",
      `QEMU does not run one thread per vCPU (query-cpus-fast: ${JSON.stringify(vcpuThreads)})`,
    );
  const pins: ThreadPin[] = plan.vcpuCpus.map((cpu, i) => ({ tid: vcpuTids[i]!, cpus: [cpu], role: "vcpu" }));
  const taken = new Set(vcpuTids);
  for (const tid of tids) if (!taken.has(tid)) pins.push({ tid, cpus: plan.emulatorCpus, role: "emulator" });
  return pins;
}
