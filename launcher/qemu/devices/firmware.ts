import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/** Block node holding the UEFI code (machine property pflash0). */
export const OVMF_CODE_NODE = "ovmf-code";
/** Block node holding the per-VM UEFI variable store (machine property pflash1). */
export const OVMF_VARS_NODE = "ovmf-vars";

/**
 * How the guest boots: SeaBIOS (QEMU's default, nothing to add), OVMF from two pflash chips, or a kernel
 * loaded directly.
 */
export const firmwareArgs: DeviceArgs = ({ config, inputs }) => {
  const boot = config.boot;
  switch (boot.kind) {
    case "bios":
      return [];
    case "uefi":
      return [
        "-blockdev",
        opts("driver=file", {
          filename: inputs.firmware.ovmfCode,
          "node-name": OVMF_CODE_NODE,
          "read-only": true,
        }),
        "-blockdev",
        opts("driver=file", {
          filename: inputs.files.uefiVars,
          "node-name": OVMF_VARS_NODE,
          "read-only": false,
        }),
        // Secure boot: only code running in SMM may write the variable store.
        ...(boot.secureBoot ? ["-global", "driver=cfi.pflash01,property=secure,value=on"] : []),
      ];
    case "kernel":
      return [
        "-kernel",
        boot.kernelPath,
        ...(boot.initrdPath ? ["-initrd", boot.initrdPath] : []),
        ...(boot.cmdline !== undefined ? ["-append", boot.cmdline] : []),
      ];
  }
};
