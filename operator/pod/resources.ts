/** What a launcher pod asks the scheduler for: memory with overhead, CPU, node disk, devices, hugepages. */
import type { V1ResourceRequirements } from "@kubernetes/client-node";
import {
  DEVICE_RESOURCES,
  TCG_BOOKKEEPING_MIB,
  TCG_TRANSLATION_CACHE_MIB,
} from "../../crds/contract/index.ts";
import type { Sizing } from "../../crds/launcher/resolve.ts";

const MiB = 2 ** 20;

/** The fixed part of the memory overhead; `--launcher-memory-overhead` replaces it. */
export const DEFAULT_OVERHEAD_BASE_BYTES = 128 * MiB;

/**
 * Memory the pod needs on top of guest RAM, in bytes: the one place this is computed. The figures come from
 * `npm run bench -- overhead` (method and numbers in docs/performance.md; 1 vCPU / 1 GiB, KVM, bridge NIC):
 *
 *   overhead = base (128 MiB)              measured ≈ 100 MiB resident: the launcher 63 MiB (20 private, 43 of
 *                                          Node's binary) and QEMU 37 MiB (10 private, 26 of its libraries);
 *                                          +28 MiB headroom for the launcher's start-up peak (≈ +17 MiB) and
 *                                          metrics scrapes
 *            + 2 MiB × vCPUs                measured ≈ 1 MiB per vCPU (1 → 4 vCPUs: +3 MiB), doubled
 *            + guest / 512                  page tables for guest RAM (KubeVirt uses the same share)
 *            + 8 MiB with UEFI              OVMF in pflash: measured +4 MiB, doubled
 *            + 16 MiB with VNC              VGA's 16 MiB framebuffer once a guest draws on all of it
 *            + 8 MiB with a TPM             swtpm: measured 6 MiB resident (1 MiB private, the rest its
 *                                          libraries: libtpms, libcrypto)
 *
 * rounded up to a whole MiB; 1 vCPU / 1 GiB: 132 MiB (KubeVirt: 250 MiB). Under emulation the pod also asks
 * for TCG's translation cache, which the launcher caps ({@link TCG_TRANSLATION_CACHE_MIB}), and its
 * bookkeeping ({@link tcgOverheadBytes}). Not covered: passt.
 */
export function memoryOverheadBytes(sizing: Sizing, baseBytes = DEFAULT_OVERHEAD_BASE_BYTES): number {
  const bytes =
    baseBytes +
    2 * MiB * sizing.vcpus +
    sizing.guestBytes / 512 +
    (sizing.uefi ? 8 * MiB : 0) +
    (sizing.vnc ? 16 * MiB : 0) +
    (sizing.tpm ? 8 * MiB : 0);
  return Math.ceil(bytes / MiB) * MiB;
}

/** What emulation adds to the request: the capped translation cache and TCG's bookkeeping beside it. */
export function tcgOverheadBytes(): number {
  return (TCG_TRANSLATION_CACHE_MIB + TCG_BOOKKEEPING_MIB) * MiB;
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
  /** Node disk the pod's volumes and logs may use (ephemeral-storage.ts): requested and limited. */
  ephemeralBytes?: number;
}

/**
 * Resources of the launcher container. Memory is requested, not limited: a limit that undershoots QEMU's real
 * overhead would OOM-kill a guest, and the overhead is still being measured. Extended resources (devices,
 * hugepages) must have limits equal to requests.
 */
export function launcherResources(sizing: Sizing, inputs: ResourceInputs): V1ResourceRequirements {
  const { vcpus, guestBytes: guest, hugepageSize: hp } = sizing;
  const memory =
    memoryOverheadBytes(sizing, inputs.overheadBaseBytes) +
    (inputs.emulation ? tcgOverheadBytes() : 0) +
    (hp ? 0 : guest);
  const devices: Record<string, string> = {
    ...(inputs.emulation ? {} : { [DEVICE_RESOURCES.kvm]: "1" }),
    // vhost-net only accelerates KVM guests, and nodes without KVM often lack /dev/vhost-net: requesting it
    // when emulating would leave pods Pending there (seen on the e2e node). The launcher uses vhost only when
    // the device is present.
    ...(inputs.needsTap ? { [DEVICE_RESOURCES.tun]: "1" } : {}),
    ...(inputs.needsTap && !inputs.emulation ? { [DEVICE_RESOURCES.vhostNet]: "1" } : {}),
    ...(hp ? { [`hugepages-${hp}`]: mi(guest) } : {}),
  };
  // Node disk, limit = request: the VM may fill what it was given (its empty disks), and past that the
  // kubelet evicts this pod rather than its neighbours. QoS classes look at CPU and memory only.
  const disk: Record<string, string> =
    inputs.ephemeralBytes !== undefined ? { "ephemeral-storage": mi(inputs.ephemeralBytes) } : {};
  // Dedicated CPUs: Guaranteed QoS (every resource's limit equals its request) with a whole number of CPUs,
  // which is what makes the kubelet's static CPU manager give the container exclusive CPUs.
  if (sizing.dedicatedCpus) {
    const guaranteed = { cpu: String(sizing.dedicatedCpus), memory: mi(memory), ...disk, ...devices };
    return { requests: guaranteed, limits: { ...guaranteed } };
  }
  const limits = { ...disk, ...devices };
  return {
    requests: { cpu: `${vcpus * CPU_REQUEST_PER_VCPU_MILLI}m`, memory: mi(memory), ...disk, ...devices },
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/**
 * Resources of the short-lived init containers (copying, network plumbing). `guaranteed`: limits equal to
 * requests, as a Guaranteed QoS pod needs of every container (its init containers get no exclusive CPUs).
 */
export function initContainerResources(
  extra: Record<string, string> = {},
  guaranteed = false,
): V1ResourceRequirements {
  if (guaranteed) {
    const r = { cpu: "100m", memory: "128Mi", ...extra };
    return { requests: r, limits: { ...r } };
  }
  return {
    requests: { cpu: "10m", memory: "16Mi", ...extra },
    limits: { memory: "128Mi", ...extra },
  };
}

/** An init container's resources made Guaranteed (limits = requests), keeping its extended resources. */
export function guaranteedInitResources(res: V1ResourceRequirements | undefined): V1ResourceRequirements {
  const extra = Object.entries(res?.limits ?? {}).filter(([k]) => k !== "cpu" && k !== "memory");
  return initContainerResources(Object.fromEntries(extra) as Record<string, string>, true);
}
