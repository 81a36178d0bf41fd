/** UEFI firmware images: the read-only code and the template the per-VM variable store is copied from. */
export interface FirmwareFiles {
  ovmfCode: string;
  ovmfVarsTemplate: string;
}

/** Where Debian's `ovmf` package installs its images. */
export const OVMF_DIR = "/usr/share/OVMF";

/**
 * Debian's 4 MiB OVMF builds. Secure boot pairs the SMM-enforcing code with the variable store that has
 * Microsoft's keys enrolled, as distributions' signed shims expect.
 */
export function firmwareFiles(secureBoot: boolean, dir = OVMF_DIR): FirmwareFiles {
  return secureBoot
    ? { ovmfCode: `${dir}/OVMF_CODE_4M.secboot.fd`, ovmfVarsTemplate: `${dir}/OVMF_VARS_4M.ms.fd` }
    : { ovmfCode: `${dir}/OVMF_CODE_4M.fd`, ovmfVarsTemplate: `${dir}/OVMF_VARS_4M.fd` };
}
