/** The host devices Vireo's device plugin hands out; their resource names are the contract's (crds/contract). */
import { RESOURCE_NAMES, resourceName, type ResourceName } from "../crds/contract/index.ts";

/** Where each device node lives below /dev, on the host and in the container. */
const DEV_PATHS: Record<ResourceName, string> = {
  kvm: "kvm",
  tun: "net/tun",
  "vhost-net": "vhost-net",
};

/** One shareable host device node and the resource that grants it. */
export interface HostDevice {
  /** Short name, e.g. `kvm`. */
  name: ResourceName;
  /** Full resource name, e.g. `devices.vireo.dev/kvm`. */
  resourceName: string;
  /** Where this process sees the host's own node (the host's /dev may be mounted elsewhere). */
  probePath: string;
  /** Where this process makes the launcher's node of the same device (launcher-nodes.ts). */
  nodePath: string;
  /** The launcher's node as the host sees it: what the kubelet passes to the container runtime. */
  hostPath: string;
  /** Path of the node in the container. */
  containerPath: string;
}

/** Where the plugin finds the host's device nodes and keeps the launcher's. */
export interface DeviceDirs {
  /** Where this process sees the host's /dev (in the DaemonSet a read-only mount, in tests a temp dir). */
  devDir: string;
  /** Where this process makes the launcher's nodes. */
  nodeDir: string;
  /** The same directory as the host sees it (default `nodeDir`). */
  hostNodeDir?: string | undefined;
}

/**
 * The host devices for `names`: the host's node under `devDir`, the launcher's node under `nodeDir`
 * (handed to the kubelet under `hostNodeDir`). The container path is always the real /dev path, because
 * that is where QEMU looks.
 */
export function hostDevices(dirs: DeviceDirs, names: readonly ResourceName[] = RESOURCE_NAMES): HostDevice[] {
  const trim = (d: string) => d.replace(/\/+$/, "");
  const nodeDir = trim(dirs.nodeDir);
  const hostNodeDir = trim(dirs.hostNodeDir ?? dirs.nodeDir);
  return names.map((name) => ({
    name,
    resourceName: resourceName(name),
    probePath: `${trim(dirs.devDir)}/${DEV_PATHS[name]}`,
    nodePath: `${nodeDir}/${DEV_PATHS[name]}`,
    hostPath: `${hostNodeDir}/${DEV_PATHS[name]}`,
    containerPath: `/dev/${DEV_PATHS[name]}`,
  }));
}

/** Socket file name of the plugin serving `name`, relative to the device-plugin directory. */
export function endpointFor(name: ResourceName): string {
  return `vireo-${name}.sock`;
}
