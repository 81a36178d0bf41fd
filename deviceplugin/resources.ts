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
  /** Path of the node on the host, as the plugin sees it (and as the kubelet passes it to the runtime). */
  hostPath: string;
  /** Path of the node in the container. */
  containerPath: string;
}

/**
 * The host devices for `names`, found under `devDir` (normally /dev; tests point it at a temporary
 * directory). The container path is always the real /dev path, because that is where QEMU looks.
 */
export function hostDevices(devDir: string, names: readonly ResourceName[] = RESOURCE_NAMES): HostDevice[] {
  const dir = devDir.replace(/\/+$/, "");
  return names.map((name) => ({
    name,
    resourceName: `${RESOURCE_PREFIX}/${name}`,
    hostPath: `${dir}/${DEV_PATHS[name]}`,
    containerPath: `/dev/${DEV_PATHS[name]}`,
  }));
}

/** Socket file name of the plugin serving `name`, relative to the device-plugin directory. */
export function endpointFor(name: ResourceName): string {
  return `vireo-${name}.sock`;
}
