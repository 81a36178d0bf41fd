/** What a launcher pod asks the scheduler for: memory with overhead, CPU, devices, hugepages. */
import type { V1ResourceRequirements } from "@kubernetes/client-node";
import { parseQuantity } from "../../crds/api/quantity.ts";
import type { VmSpec } from "../../crds/api/spec.ts";

const MiB = 2 ** 20;

/** Extended resources the Vireo device plugin advertises on each node. */
export const DEVICE_RESOURCES = {
  kvm: "devices.vireo.dev/kvm",
  tun: "devices.vireo.dev/tun",
  vhostNet: "devices.vireo.dev/vhost-net",
} as const;

/** The fixed part of the memory overhead; `--launcher-memory-overhead` replaces it. */
export const DEFAULT_OVERHEAD_BASE_BYTES = 192 * MiB;

/**
 * Memory the pod needs on top of guest RAM, in bytes: the one place this is computed.
 *
 *   overhead = base (192 MiB)              launcher (Node.js ≈ 60 MiB), QEMU base process, dnsmasq/passt
 *            + 8 MiB × vCPUs                QEMU's per-vCPU thread stacks and TCG/KVM state
 *            + guest / 512                  page tables and QEMU's per-page bookkeeping (KubeVirt uses the same share)
 *            + 16 MiB with UEFI             OVMF code and variable store (pflash)
 *            + 16 MiB with VNC              framebuffer and VNC server
 *
 * rounded up to a whole MiB. The benchmark issue measures real RSS and tunes these figures.
 */
export function memoryOverheadBytes(spec: VmSpec, baseBytes = DEFAULT_OVERHEAD_BASE_BYTES): number {
  const vcpus = spec.cpu.sockets * spec.cpu.cores * spec.cpu.threads;
  const guest = parseQuantity(spec.memory.guest) ?? 0;
  const bytes =
    baseBytes +
    8 * MiB * vcpus +
    guest / 512 +
    (spec.firmware.uefi ? 16 * MiB : 0) +
    (spec.devices.vnc ? 16 * MiB : 0);
  return Math.ceil(bytes / MiB) * MiB;
}

/** CPU the launcher requests per vCPU: a tenth of a core, as KubeVirt's default cpuAllocationRatio of 10. */
export const CPU_REQUEST_PER_VCPU_MILLI = 100;

const mi = (bytes: number) => `${Math.ceil(bytes / MiB)}Mi`;

/** What decides the launcher container's resources besides the spec. */
export interface ResourceInputs {
  /** Emulation configured: the launcher runs TCG and needs no /dev/kvm. */
  emulation: boolean;
  /** Some NIC uses a tap (bridge or masquerade binding), so /dev/net/tun (and, with KVM, /dev/vhost-net) is needed. */
  needsTap: boolean;
  /** Replaces the overhead's fixed part (operator setting); default {@link DEFAULT_OVERHEAD_BASE_BYTES}. */
  overheadBaseBytes?: number;
}

/**
 * Resources of the launcher container. Memory is requested, not limited: a limit that undershoots QEMU's real
 * overhead would OOM-kill a guest, and the overhead is still being measured. Extended resources (devices,
 * hugepages) must have limits equal to requests.
 */
export function launcherResources(spec: VmSpec, inputs: ResourceInputs): V1ResourceRequirements {
  const vcpus = spec.cpu.sockets * spec.cpu.cores * spec.cpu.threads;
  const guest = parseQuantity(spec.memory.guest) ?? 0;
  const hp = spec.memory.hugepages;
  const memory = memoryOverheadBytes(spec, inputs.overheadBaseBytes) + (hp ? 0 : guest);
  const devices: Record<string, string> = {
    ...(inputs.emulation ? {} : { [DEVICE_RESOURCES.kvm]: "1" }),
    // vhost-net only accelerates KVM guests, and nodes without KVM often lack /dev/vhost-net: requesting it
    // when emulating would leave pods Pending there (seen on the e2e node). The launcher uses vhost only when
    // the device is present.
    ...(inputs.needsTap ? { [DEVICE_RESOURCES.tun]: "1" } : {}),
    ...(inputs.needsTap && !inputs.emulation ? { [DEVICE_RESOURCES.vhostNet]: "1" } : {}),
    ...(hp ? { [`hugepages-${hp.pageSize}`]: mi(guest) } : {}),
  };
  return {
    requests: { cpu: `${vcpus * CPU_REQUEST_PER_VCPU_MILLI}m`, memory: mi(memory), ...devices },
    ...(Object.keys(devices).length ? { limits: devices } : {}),
  };
}

/** Resources of the short-lived init containers (copying, network plumbing). */
export function initContainerResources(extra: Record<string, string> = {}): V1ResourceRequirements {
  return {
    requests: { cpu: "10m", memory: "16Mi", ...extra },
    limits: { memory: "128Mi", ...extra },
  };
}
