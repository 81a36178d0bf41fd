/**
 * The preferences the chart ships, named as KubeVirt's common-preferences are. One source: `npm run gen`
 * writes them into the chart, and `vireo validate` / `vireo expand` know them offline.
 */
import type { z } from "zod";
import type { preferenceSpecSchema } from "./preference.ts";

/** One shipped preference: its name, what it is for, and its spec as written. */
export interface CommonPreference {
  name: string;
  description: string;
  spec: z.input<typeof preferenceSpecSchema>;
}

const linux = (name: string, description: string, memory: string): CommonPreference => ({
  name,
  description,
  spec: {
    devices: { preferredDiskBus: "virtio", preferredInterfaceModel: "virtio" },
    requirements: { cpu: { guest: 1 }, memory: { guest: memory } },
  },
});

/** KubeVirt's Windows enlightenments (the KVM-only ones are left out by the launcher under emulation). */
const on = { enabled: true };
const HYPERV = {
  relaxed: on,
  vapic: on,
  spinlocks: { enabled: true, spinlocks: 8191 },
  vpindex: on,
  runtime: on,
  synic: on,
  stimer: on,
  reset: on,
  frequencies: on,
  reenlightenment: on,
  tlbflush: on,
  ipi: on,
};

/**
 * Windows gets SATA disks and an e1000e NIC (drivers in the installer, unlike virtio's), UEFI with Secure
 * Boot and Microsoft's keys (Debian's OVMF_VARS_4M.ms.fd), Hyper-V enlightenments, and its RTC in local time
 * with drift made up, no HPET and PIT ticks delayed, and a persistent TPM 2.0 (Windows 11 requires one;
 * BitLocker needs the same TPM after a restart, so its state goes on the VM's state claim).
 */
const windows = (name: string, description: string, cpus: number, memory: string): CommonPreference => ({
  name,
  description,
  spec: {
    devices: {
      preferredDiskBus: "sata",
      preferredInterfaceModel: "e1000e",
      preferredTPM: { persistent: true },
    },
    firmware: { preferredUseEfi: true, preferredUseSecureBoot: true },
    features: { preferredHyperv: HYPERV },
    clock: {
      preferredClock: {
        base: "localtime",
        timer: { hpet: { present: false }, pit: { tickPolicy: "delay" }, rtc: { tickPolicy: "catchup" } },
      },
    },
    requirements: { cpu: { guest: cpus }, memory: { guest: memory } },
  },
});

/** Linux, Windows and BSD guest defaults. The BSDs use virtio (vtnet/vtblk, vio/vioblk); none was booted here. */
export const COMMON_PREFERENCES: CommonPreference[] = [
  linux("debian", "Debian", "1Gi"),
  linux("ubuntu", "Ubuntu", "2Gi"),
  linux("fedora", "Fedora", "2Gi"),
  linux("centos.stream9", "CentOS Stream 9", "1536Mi"),
  windows("windows.10", "Microsoft Windows 10", 1, "2Gi"),
  windows("windows.11", "Microsoft Windows 11", 2, "4Gi"),
  windows("windows.2k22", "Microsoft Windows Server 2022", 1, "2Gi"),
  linux("freebsd", "FreeBSD (virtio disks and NICs)", "1Gi"),
  linux("openbsd", "OpenBSD (virtio disks and NICs)", "1Gi"),
];
