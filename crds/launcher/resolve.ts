/**
 * `resolveVm`: a validated VirtualMachine resolved once into the facts both of its projections need — the
 * launcher config (from-vm.ts) and the launcher pod (operator/pod) — so each is derived in one place: the
 * VM's identity, vCPUs and guest bytes, each disk joined with its volume (and claim), each NIC with its
 * network, binding and MAC, and the PVC claims it uses. Pure, like its two projections.
 */
import { parseQuantity } from "../api/quantity.ts";
import type { VmSpec } from "../api/spec.ts";
import type { VirtualMachine } from "../api/virtual-machine.ts";
import { deriveMac } from "./mac.ts";

/** Facts about a PersistentVolumeClaim that decide how its disk is attached. */
export interface ClaimFacts {
  volumeMode: "Filesystem" | "Block";
  capacityBytes?: number;
}

type Binding = "bridge" | "masquerade" | "passt";

/** What sizes the guest (and so the pod's requests). */
export interface Sizing {
  /** sockets × cores × threads. */
  vcpus: number;
  /** Guest RAM in bytes. */
  guestBytes: number;
  /** Hugepage size backing guest RAM, if any. */
  hugepageSize?: "2Mi" | "1Gi";
  /** UEFI firmware (OVMF in pflash adds overhead). */
  uefi: boolean;
  /** A VNC display (its framebuffer adds overhead). */
  vnc: boolean;
  /** A virtual TPM (swtpm runs beside QEMU). */
  tpm?: boolean;
  /** Whole host CPUs the pod gets with dedicated CPU placement: one per vCPU, one more for an isolated emulator. */
  dedicatedCpus?: number;
}

/** A disk joined with the volume of its name (validation guarantees there is one). */
export interface ResolvedDisk {
  disk: VmSpec["disks"][number];
  volume: VmSpec["volumes"][number];
  /** The PVC behind it, with what the cluster says of it (missing: Filesystem, capacity unknown). */
  claim?: { name: string; facts?: ClaimFacts };
  /** Read-only as the guest sees it: asked for, a read-only claim, or a source that is read-only by nature. */
  readOnly: boolean;
}

/** A NIC joined with the network of its name. */
export interface ResolvedInterface {
  iface: VmSpec["interfaces"][number];
  network: VmSpec["networks"][number];
  /** Multus NICs are always bridged to their attachment; pod-network NICs default to the cluster's binding. */
  binding: Binding;
  /** The MAC the launcher gives the guest NIC: the spec's, or one derived from the VM and NIC names. */
  mac: string;
}

/** A VM resolved once. */
export interface ResolvedVm {
  vm: VirtualMachine;
  namespace: string;
  name: string;
  uid: string;
  sizing: Sizing;
  disks: ResolvedDisk[];
  interfaces: ResolvedInterface[];
  /** PVC names in disk order. */
  claimNames: string[];
  /** Some NIC needs a tap (every binding but passt): /dev/net/tun and a netsetup init container. */
  needsTap: boolean;
}

/** Cluster facts the resolution depends on. */
export interface ResolveInputs {
  /** Binding of pod-network NICs that do not name one. */
  defaultBinding: Binding;
  /** Claims by name, as far as they are known. */
  claims?: Record<string, ClaimFacts>;
}

/** What sizes a guest with this spec. */
export function sizingOf(spec: VmSpec): Sizing {
  const hp = spec.memory.hugepages;
  const vcpus = spec.cpu.sockets * spec.cpu.cores * spec.cpu.threads;
  return {
    vcpus,
    guestBytes: parseQuantity(spec.memory.guest) ?? 0,
    ...(hp ? { hugepageSize: hp.pageSize } : {}),
    uefi: spec.firmware.uefi !== undefined,
    vnc: spec.devices.vnc,
    ...(spec.devices.tpm ? { tpm: true } : {}),
    ...(spec.cpu.dedicatedCpuPlacement
      ? { dedicatedCpus: vcpus + (spec.cpu.isolateEmulatorThread ? 1 : 0) }
      : {}),
  };
}

/** Resolves a validated VM; throws (a programming error) when given one that was not validated. */
export function resolveVm(vm: VirtualMachine, inputs: ResolveInputs): ResolvedVm {
  const namespace = vm.metadata.namespace ?? "default";
  const name = vm.metadata.name ?? "vm";
  const disks = resolveDisks(vm.spec, inputs.claims);
  const interfaces = resolveInterfaces(vm.spec, namespace, name, inputs.defaultBinding);
  return {
    vm,
    namespace,
    name,
    uid: vm.metadata.uid ?? "",
    sizing: sizingOf(vm.spec),
    disks,
    interfaces,
    claimNames: disks.flatMap((d) => (d.claim ? [d.claim.name] : [])),
    needsTap: interfaces.some((i) => i.binding !== "passt"),
  };
}

const READ_ONLY_SOURCES = ["cloudInitNoCloud", "configMap", "secret"] as const;

function resolveDisks(spec: VmSpec, claims: ResolveInputs["claims"]): ResolvedDisk[] {
  const volumes = new Map(spec.volumes.map((v) => [v.name, v]));
  return spec.disks.map((disk) => {
    const volume = volumes.get(disk.name);
    if (!volume) throw new Error(`spec.disks: disk "${disk.name}" has no volume (the VM was not validated)`);
    const pvc = volume.persistentVolumeClaim;
    const facts = pvc ? claims?.[pvc.claimName] : undefined;
    return {
      disk,
      volume,
      ...(pvc ? { claim: { name: pvc.claimName, ...(facts ? { facts } : {}) } } : {}),
      readOnly: disk.readOnly || pvc?.readOnly === true || READ_ONLY_SOURCES.some((k) => volume[k]),
    };
  });
}

function resolveInterfaces(
  spec: VmSpec,
  namespace: string,
  name: string,
  defaultBinding: Binding,
): ResolvedInterface[] {
  const networks = new Map(spec.networks.map((n) => [n.name, n]));
  return spec.interfaces.map((iface) => {
    const network = networks.get(iface.name);
    if (!network)
      throw new Error(`spec.interfaces: interface "${iface.name}" has no network (the VM was not validated)`);
    return {
      iface,
      network,
      binding: network.multus ? "bridge" : (iface.binding ?? defaultBinding),
      mac: (iface.macAddress ?? deriveMac(namespace, name, iface.name)).toLowerCase(),
    };
  });
}
