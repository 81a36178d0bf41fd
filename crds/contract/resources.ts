/**
 * The extended resources the device plugin advertises and the operator requests for a launcher pod: one
 * spelling, so a renamed device cannot leave pods Pending on every node.
 */

/** Prefix of every extended resource the plugin advertises. */
export const RESOURCE_PREFIX = "devices.vireo.dev";

/** Short names of the resources, as in `devices.vireo.dev/<name>`. */
export const RESOURCE_NAMES = ["kvm", "tun", "vhost-net"] as const;

/** A short resource name. */
export type ResourceName = (typeof RESOURCE_NAMES)[number];

/** The full extended resource name of a device, e.g. `devices.vireo.dev/kvm`. */
export function resourceName(name: ResourceName): `${typeof RESOURCE_PREFIX}/${ResourceName}` {
  return `${RESOURCE_PREFIX}/${name}`;
}

/** The resources a launcher pod may request, by what it needs them for. */
export const DEVICE_RESOURCES = {
  kvm: resourceName("kvm"),
  tun: resourceName("tun"),
  vhostNet: resourceName("vhost-net"),
} as const;
