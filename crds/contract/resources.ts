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

/**
 * QEMU's TCG translation cache cap in MiB (`-accel tcg,tb-size=`), which the operator adds to an emulated
 * pod's memory request. Uncapped, QEMU 7.2 maps 1 GiB for it and the Debian cloud image booted to its login
 * prompt left 492 MiB of it resident plus 58 MiB of bookkeeping (QEMU 871 MiB resident for a 1 GiB guest
 * that had touched 250 MiB); capped at 128 MiB the same boot left 127 + 18 MiB and took as long within the
 * noise of a loaded machine (45–61 s against 49–53 s), while 64 MiB cost 50–65 s and 32 MiB 63 s.
 */
export const TCG_TRANSLATION_CACHE_MIB = 128;

/** TCG's bookkeeping beside its translation cache, in MiB (measured 13–18 MiB; rounded up). */
export const TCG_BOOKKEEPING_MIB = 24;
