import { QemuArgsError } from "../errors.ts";
import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/**
 * A TPM 2.0 backed by swtpm, which the launcher started on `files.tpmSocket` before QEMU: QEMU's emulator
 * backend talks swtpm's control protocol over the socket. The CRB interface (not TIS) because it is what
 * Windows 11 and current Linux expect on q35 and is found through ACPI alone.
 */
export const tpmArgs: DeviceArgs = ({ config, inputs }) => {
  if (!config.tpm) return [];
  // microvm has no ACPI tables by default, so a guest would never find the CRB device.
  if (config.machine !== "q35")
    throw new QemuArgsError("tpm", `a TPM needs the q35 machine, not ${config.machine}`);
  return [
    "-chardev",
    opts("socket", { id: "chrtpm", path: inputs.files.tpmSocket }),
    "-tpmdev",
    "emulator,id=tpm0,chardev=chrtpm",
    "-device",
    "tpm-crb,id=tpm,tpmdev=tpm0",
  ];
};
