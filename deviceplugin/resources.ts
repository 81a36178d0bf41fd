/** The host devices Vireo's device plugin hands out, and the resource names they are advertised under. */

/** Prefix of every extended resource the plugin advertises. */
export const RESOURCE_PREFIX = "devices.vireo.dev";

/** Short names of the resources, as in `devices.vireo.dev/<name>`. */
export const RESOURCE_NAMES = ["kvm", "tun", "vhost-net"] as const;

/** A short resource name. */
export type ResourceName = (typeof RESOURCE_NAMES)[number];

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
  /** Path at which this process checks that the node exists (the host's /dev may be mounted elsewhere). */
  probePath: string;
  /** Path of the node on the host, which the kubelet passes to the container runtime. */
  hostPath: string;
  /** Path of the node in the container. */
  containerPath: string;
}

/**
 * The host devices for `names`: checked for under `devDir` (where this process sees the host's /dev; in the
 * DaemonSet a read-only mount, in tests a temporary directory) and handed to the kubelet as paths under
 * `hostDevDir` (the host's view; default `devDir`). The container path is always the real /dev path,
 * because that is where QEMU looks.
 */
export function hostDevices(
  dirs: { devDir: string; hostDevDir?: string | undefined },
  names: readonly ResourceName[] = RESOURCE_NAMES,
): HostDevice[] {
  const trim = (d: string) => d.replace(/\/+$/, "");
  const probeDir = trim(dirs.devDir);
  const hostDir = trim(dirs.hostDevDir ?? dirs.devDir);
  return names.map((name) => ({
    name,
    resourceName: `${RESOURCE_PREFIX}/${name}`,
    probePath: `${probeDir}/${DEV_PATHS[name]}`,
    hostPath: `${hostDir}/${DEV_PATHS[name]}`,
    containerPath: `/dev/${DEV_PATHS[name]}`,
  }));
}

/** Socket file name of the plugin serving `name`, relative to the device-plugin directory. */
export function endpointFor(name: ResourceName): string {
  return `vireo-${name}.sock`;
}
