import type { DeviceArgs } from "../inputs.ts";
import { TCG_TRANSLATION_CACHE_MIB } from "../../../crds/contract/index.ts";
import { opts } from "../opts.ts";
import { OVMF_CODE_NODE, OVMF_VARS_NODE } from "./firmware.ts";
import { GUEST_RAM_ID } from "./memory.ts";

/**
 * The machine and accelerator. q35 for everything; microvm (direct kernel boot only) with PCIe so the same
 * virtio-pci devices work on both, and ACPI so the power button reaches the guest.
 */
export const machineArgs: DeviceArgs = ({ config, inputs }) => {
  const uefi = config.boot.kind === "uefi";
  const secureBoot = config.boot.kind === "uefi" && config.boot.secureBoot;
  const common = {
    // Secure boot needs SMM so the firmware can protect its variable store from the guest OS.
    smm: secureBoot,
    // With guest NUMA nodes each node has its own backend (memory.ts), which QEMU names per node instead.
    "memory-backend": config.memory.hugepages && !inputs.dedicated?.numa.length ? GUEST_RAM_ID : undefined,
  };
  const machine =
    config.machine === "microvm"
      ? opts("microvm", {
          ...common,
          pcie: true,
          acpi: true,
          rtc: true,
          "isa-serial": config.devices.serialConsole,
        })
      : opts("q35", {
          ...common,
          pflash0: uefi ? OVMF_CODE_NODE : undefined,
          pflash1: uefi ? OVMF_VARS_NODE : undefined,
        });
  // Uncapped, TCG's translation cache grows to 1 GiB; the cap is part of an emulated pod's memory request.
  const accel = inputs.accel === "tcg" ? opts("tcg", { "tb-size": TCG_TRANSLATION_CACHE_MIB }) : inputs.accel;
  return ["-machine", machine, "-accel", accel];
};
