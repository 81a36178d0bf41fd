import type { VirtualMachine } from "../api/virtual-machine.ts";
import { parseQuantity } from "../api/quantity.ts";
import {
  LAUNCHER_CONFIG_VERSION,
  type LauncherConfig,
  type LauncherDisk,
  type LauncherInterface,
} from "./config.ts";
import { LAUNCHER_HTTP_PORT } from "../contract/index.ts";
import { deriveMac } from "./mac.ts";
import { persistentUefiVars, podPaths, type PodPaths } from "../contract/index.ts";

/** Facts about a PersistentVolumeClaim that decide how its disk is attached. */
export interface ClaimFacts {
  volumeMode: "Filesystem" | "Block";
  capacityBytes?: number;
}

/** Inputs besides the VM that shape the launcher config: cluster settings and looked-up objects. */
export interface LauncherConfigInputs {
  /** Cluster setting: allow TCG when KVM is unusable. */
  allowEmulation: boolean;
  /** Binding for pod-network interfaces that do not name one. */
  defaultBinding: "bridge" | "masquerade" | "passt";
  /** Claims by name; a claim missing here is treated as Filesystem mode with unknown capacity. */
  claims?: Record<string, ClaimFacts>;
  /** Re-rooted paths (standalone mode, tests); default: the pod layout. */
  paths?: PodPaths;
  /** Balloon statistics polling period. */
  balloonStatsPollSeconds?: number;
}

/** Default private guest subnet for the masquerade binding, as KubeVirt's. */
export const DEFAULT_VM_NETWORK_CIDR = "10.0.2.0/24";

/** Disk serials are at most 20 characters (virtio-blk's limit); longer names are truncated. */
const serialOf = (name: string, serial?: string) => serial ?? name.slice(0, 20);

/**
 * Resolves a validated VirtualMachine into the launcher's config. Pure: shared by the operator (which writes
 * it into the pod) and by standalone mode (which runs it on this host).
 */
export function launcherConfigFromVm(vm: VirtualMachine, inputs: LauncherConfigInputs): LauncherConfig {
  const { spec, metadata } = vm;
  const namespace = metadata.namespace ?? "default";
  const name = metadata.name ?? "vm";
  const paths = inputs.paths ?? podPaths();
  const volumes = new Map(spec.volumes.map((v) => [v.name, v]));

  const disks: LauncherDisk[] = spec.disks.map((d) => {
    const v = volumes.get(d.name);
    if (!v) throw new Error(`spec.disks: disk "${d.name}" has no volume (the VM was not validated)`);
    const dir = `${paths.volumesDir}/${v.name}`;
    let source: LauncherDisk["source"];
    let readOnly = d.readOnly;
    if (v.persistentVolumeClaim) {
      const claim = inputs.claims?.[v.persistentVolumeClaim.claimName];
      const claimName = v.persistentVolumeClaim.claimName;
      readOnly ||= v.persistentVolumeClaim.readOnly;
      source =
        claim?.volumeMode === "Block"
          ? { kind: "pvcBlock", devicePath: `${paths.blockDir}/${v.name}`, claimName }
          : {
              kind: "pvcFilesystem",
              mountPath: dir,
              claimName,
              ...(claim?.capacityBytes ? { capacityBytes: claim.capacityBytes } : {}),
            };
    } else if (v.containerDisk) {
      source = {
        kind: "containerDisk",
        image: v.containerDisk.image,
        dir: `${paths.containerDisksDir}/${v.name}`,
        ...(v.containerDisk.path ? { path: v.containerDisk.path } : {}),
      };
    } else if (v.emptyDisk) {
      source = { kind: "emptyDisk", capacityBytes: parseQuantity(v.emptyDisk.capacity)! };
    } else if (v.cloudInitNoCloud) {
      const ci = v.cloudInitNoCloud;
      readOnly = true;
      source = {
        kind: "cloudInit",
        instanceId: metadata.uid ?? `${namespace}.${name}`,
        hostname: name,
        ...(ci.userData !== undefined ? { userData: ci.userData } : {}),
        ...(ci.userDataSecretRef ? { userDataDir: `${paths.volumesDir}/${v.name}-userdata` } : {}),
        ...(ci.networkData !== undefined ? { networkData: ci.networkData } : {}),
        ...(ci.networkDataSecretRef ? { networkDataDir: `${paths.volumesDir}/${v.name}-networkdata` } : {}),
      };
    } else if (v.configMap) {
      readOnly = true;
      source = { kind: "configMap", mountPath: dir, name: v.configMap.name };
    } else if (v.secret) {
      readOnly = true;
      source = { kind: "secret", mountPath: dir, name: v.secret.secretName };
    } else {
      throw new Error(`spec.volumes: volume "${v.name}" has no source (the VM was not validated)`);
    }
    return {
      name: d.name,
      bus: d.bus,
      readOnly,
      serial: serialOf(d.name, d.serial),
      source,
      ...(d.bootOrder !== undefined ? { bootOrder: d.bootOrder } : {}),
      ...(d.cache ? { cache: d.cache } : {}),
    };
  });

  const networks = new Map(spec.networks.map((n) => [n.name, n]));
  const interfaces: LauncherInterface[] = spec.interfaces.map((i) => {
    const net = networks.get(i.name);
    if (!net)
      throw new Error(`spec.interfaces: interface "${i.name}" has no network (the VM was not validated)`);
    const network: LauncherInterface["network"] = net.multus
      ? { kind: "multus", networkName: net.multus.networkName }
      : { kind: "pod", vmNetworkCIDR: net.pod?.vmNetworkCIDR ?? DEFAULT_VM_NETWORK_CIDR };
    return {
      name: i.name,
      binding: net.multus ? "bridge" : (i.binding ?? inputs.defaultBinding),
      mac: (i.macAddress ?? deriveMac(namespace, name, i.name)).toLowerCase(),
      model: i.model,
      ports: (i.ports ?? []).map((p) => ({
        port: p.port,
        protocol: p.protocol,
        ...(p.name ? { name: p.name } : {}),
      })),
      network,
      ...(i.bootOrder !== undefined ? { bootOrder: i.bootOrder } : {}),
    };
  });

  const fw = spec.firmware;
  const boot: LauncherConfig["boot"] = fw.kernelBoot
    ? {
        kind: "kernel",
        kernelPath: `${paths.kernelDir}/kernel`,
        ...(fw.kernelBoot.initrdPath ? { initrdPath: `${paths.kernelDir}/initrd` } : {}),
        ...(fw.kernelBoot.cmdline !== undefined ? { cmdline: fw.kernelBoot.cmdline } : {}),
      }
    : fw.uefi
      ? {
          kind: "uefi",
          secureBoot: fw.uefi.secureBoot,
          ...(fw.uefi.persistent ? { varsFile: persistentUefiVars(paths) } : {}),
        }
      : { kind: "bios" };

  const hp = spec.memory.hugepages;
  return {
    version: LAUNCHER_CONFIG_VERSION,
    vm: { namespace, name, uid: metadata.uid ?? "" },
    accelerator: { allowEmulation: inputs.allowEmulation },
    machine: spec.machine.type,
    cpu: { ...spec.cpu },
    memory: {
      guestBytes: parseQuantity(spec.memory.guest)!,
      ...(hp ? { hugepages: { pageSize: hp.pageSize, mountPath: `/dev/hugepages-${hp.pageSize}` } } : {}),
    },
    boot,
    disks,
    interfaces,
    devices: {
      serialConsole: spec.devices.serialConsole,
      vnc: spec.devices.vnc,
      rng: spec.devices.rng,
      balloon: {
        enabled: spec.devices.memoryBalloon,
        statsPollSeconds: inputs.balloonStatsPollSeconds ?? 10,
      },
    },
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
    paths,
    http: { port: LAUNCHER_HTTP_PORT },
  };
}
