/** `launcherConfigFromVm`: the launcher config of a VM, one of the two projections of {@link resolveVm}. */
import { parseQuantity } from "../api/quantity.ts";
import type { VirtualMachine } from "../api/virtual-machine.ts";
import {
  LAUNCHER_HTTP_PORT,
  persistentUefiVars,
  podPaths,
  tpmStateDir,
  type PodPaths,
} from "../contract/index.ts";
import {
  LAUNCHER_CONFIG_VERSION,
  type LauncherConfig,
  type LauncherDisk,
  type LauncherInterface,
} from "./config.ts";
import { resolveVm, type ResolvedDisk, type ResolvedInterface, type ResolvedVm } from "./resolve.ts";

/** Cluster settings of the launcher config besides what {@link resolveVm} reads. */
export interface LauncherSettings {
  /** Cluster setting: allow TCG when KVM is unusable. */
  allowEmulation: boolean;
  /** Re-rooted paths (standalone mode, tests); default: the pod layout. */
  paths?: PodPaths;
  /** Balloon statistics polling period. */
  balloonStatsPollSeconds?: number;
}

/** Inputs besides the VM that shape the launcher config: cluster settings and looked-up objects. */
export type LauncherConfigInputs = LauncherSettings & Parameters<typeof resolveVm>[1];

/** Default private guest subnet for the masquerade binding, as KubeVirt's. */
export const DEFAULT_VM_NETWORK_CIDR = "10.0.2.0/24";

/** Disk serials are at most 20 characters (virtio-blk's limit); longer names are truncated. */
const serialOf = (name: string, serial?: string) => serial ?? name.slice(0, 20);

/**
 * Resolves a validated VirtualMachine into the launcher's config. Pure: shared by the operator (which writes
 * it into the pod) and by standalone mode (which runs it on this host).
 */
export function launcherConfigFromVm(vm: VirtualMachine, inputs: LauncherConfigInputs): LauncherConfig {
  return launcherConfigOf(resolveVm(vm, inputs), inputs);
}

/** The vCPU part: topology and model, and how dedicated CPUs are placed. */
function cpuOf(cpu: VirtualMachine["spec"]["cpu"]): LauncherConfig["cpu"] {
  const { sockets, cores, threads, model } = cpu;
  const dedicated = cpu.dedicatedCpuPlacement
    ? { isolateEmulatorThread: cpu.isolateEmulatorThread === true, numaPassthrough: cpu.numa !== undefined }
    : undefined;
  return { sockets, cores, threads, model, ...(dedicated ? { dedicated } : {}) };
}

/** The launcher config of a resolved VM. */
export function launcherConfigOf(r: ResolvedVm, settings: LauncherSettings): LauncherConfig {
  const { spec } = r.vm;
  const paths = settings.paths ?? podPaths();
  const hp = r.sizing.hugepageSize;
  return {
    version: LAUNCHER_CONFIG_VERSION,
    vm: { namespace: r.namespace, name: r.name, uid: r.uid },
    accelerator: { allowEmulation: settings.allowEmulation },
    machine: spec.machine.type,
    cpu: cpuOf(spec.cpu),
    memory: {
      guestBytes: r.sizing.guestBytes,
      ...(hp ? { hugepages: { pageSize: hp, mountPath: `/dev/hugepages-${hp}` } } : {}),
    },
    boot: bootOf(r, paths),
    disks: r.disks.map((d) => launcherDisk(r, d, paths)),
    interfaces: r.interfaces.map(launcherInterface),
    devices: {
      serialConsole: spec.devices.serialConsole,
      vnc: spec.devices.vnc,
      rng: spec.devices.rng,
      balloon: {
        enabled: spec.devices.memoryBalloon,
        statsPollSeconds: settings.balloonStatsPollSeconds ?? 10,
      },
      ...(spec.devices.watchdog
        ? { watchdog: { model: "i6300esb" as const, action: spec.devices.watchdog.i6300esb.action } }
        : {}),
    },
    ...platformOf(spec),
    ...tpmOf(spec, paths),
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
    paths,
    http: { port: LAUNCHER_HTTP_PORT },
  };
}

/** The virtual TPM, when the VM has one; its state on the state claim when persistent. */
function tpmOf(spec: ResolvedVm["vm"]["spec"], paths: PodPaths): Pick<LauncherConfig, "tpm"> {
  const tpm = spec.devices.tpm;
  if (!tpm) return {};
  const persistent = tpm.persistent === true;
  return { tpm: { stateDir: tpmStateDir(paths, persistent), persistent } };
}

/** Hyper-V enlightenments (the enabled ones, by name) and the clock, when the VM sets them. */
function platformOf(spec: ResolvedVm["vm"]["spec"]): Pick<LauncherConfig, "hyperv" | "clock"> {
  const hv = spec.features?.hyperv;
  const enabled = hv
    ? Object.entries(hv).flatMap(([name, v]) =>
        (v as { enabled?: boolean } | undefined)?.enabled ? [name] : [],
      )
    : [];
  const c = spec.clock;
  return {
    ...(hv
      ? {
          hyperv: {
            enlightenments: enabled,
            ...(hv.spinlocks?.enabled ? { spinlocks: hv.spinlocks.spinlocks } : {}),
          },
        }
      : {}),
    ...(c
      ? {
          clock: {
            base: c.base,
            hpet: c.timer?.hpet?.present ?? true,
            ...(c.timer?.pit ? { pitTickPolicy: c.timer.pit.tickPolicy } : {}),
            rtcCatchup: c.timer?.rtc?.tickPolicy === "catchup",
          },
        }
      : {}),
  };
}

function launcherDisk(r: ResolvedVm, d: ResolvedDisk, paths: PodPaths): LauncherDisk {
  return {
    name: d.disk.name,
    bus: d.disk.bus,
    readOnly: d.readOnly,
    serial: serialOf(d.disk.name, d.disk.serial),
    source: diskSource(r, d, paths),
    ...(d.disk.bootOrder !== undefined ? { bootOrder: d.disk.bootOrder } : {}),
    ...(d.disk.cache ? { cache: d.disk.cache } : {}),
  };
}

function diskSource(
  r: ResolvedVm,
  { volume: v, claim }: ResolvedDisk,
  paths: PodPaths,
): LauncherDisk["source"] {
  const dir = `${paths.volumesDir}/${v.name}`;
  if (claim) {
    const capacityBytes = claim.facts?.capacityBytes;
    return claim.facts?.volumeMode === "Block"
      ? { kind: "pvcBlock", devicePath: `${paths.blockDir}/${v.name}`, claimName: claim.name }
      : {
          kind: "pvcFilesystem",
          mountPath: dir,
          claimName: claim.name,
          ...(capacityBytes ? { capacityBytes } : {}),
          // Declared by the volume (a DataVolume's format for a dataVolume volume), never probed.
          ...(v.persistentVolumeClaim?.format ? { format: v.persistentVolumeClaim.format } : {}),
        };
  }
  if (v.containerDisk)
    return {
      kind: "containerDisk",
      image: v.containerDisk.image,
      dir: `${paths.containerDisksDir}/${v.name}`,
      ...(v.containerDisk.path ? { path: v.containerDisk.path } : {}),
    };
  if (v.emptyDisk) return { kind: "emptyDisk", capacityBytes: parseQuantity(v.emptyDisk.capacity)! };
  if (v.cloudInitNoCloud) {
    const ci = v.cloudInitNoCloud;
    return {
      kind: "cloudInit",
      instanceId: r.vm.metadata.uid ?? `${r.namespace}.${r.name}`,
      hostname: r.name,
      ...(ci.userData !== undefined ? { userData: ci.userData } : {}),
      ...(ci.userDataSecretRef ? { userDataDir: `${paths.volumesDir}/${v.name}-userdata` } : {}),
      ...(ci.networkData !== undefined ? { networkData: ci.networkData } : {}),
      ...(ci.networkDataSecretRef ? { networkDataDir: `${paths.volumesDir}/${v.name}-networkdata` } : {}),
    };
  }
  if (v.configMap) return { kind: "configMap", mountPath: dir, name: v.configMap.name };
  if (v.secret) return { kind: "secret", mountPath: dir, name: v.secret.secretName };
  // The operator turns a dataVolume volume into its claim (operator/datavolume); outside a cluster there is none.
  if (v.dataVolume)
    throw new Error(
      `spec.volumes: volume "${v.name}" names DataVolume ${v.dataVolume.name}, which only a cluster has; use a persistentVolumeClaim or containerDisk volume here`,
    );
  throw new Error(`spec.volumes: volume "${v.name}" has no source (the VM was not validated)`);
}

function launcherInterface({ iface: i, network: net, binding, mac }: ResolvedInterface): LauncherInterface {
  return {
    name: i.name,
    binding,
    mac,
    model: i.model,
    ports: (i.ports ?? []).map((p) => ({
      port: p.port,
      protocol: p.protocol,
      ...(p.name ? { name: p.name } : {}),
    })),
    network: net.multus
      ? { kind: "multus", networkName: net.multus.networkName }
      : { kind: "pod", vmNetworkCIDR: net.pod?.vmNetworkCIDR ?? DEFAULT_VM_NETWORK_CIDR },
    ...(i.bootOrder !== undefined ? { bootOrder: i.bootOrder } : {}),
  };
}

function bootOf(r: ResolvedVm, paths: PodPaths): LauncherConfig["boot"] {
  const fw = r.vm.spec.firmware;
  if (fw.kernelBoot)
    return {
      kind: "kernel",
      kernelPath: `${paths.kernelDir}/kernel`,
      ...(fw.kernelBoot.initrdPath ? { initrdPath: `${paths.kernelDir}/initrd` } : {}),
      ...(fw.kernelBoot.cmdline !== undefined ? { cmdline: fw.kernelBoot.cmdline } : {}),
    };
  if (fw.uefi)
    return {
      kind: "uefi",
      secureBoot: fw.uefi.secureBoot,
      ...(fw.uefi.persistent ? { varsFile: persistentUefiVars(paths) } : {}),
    };
  return { kind: "bios" };
}
