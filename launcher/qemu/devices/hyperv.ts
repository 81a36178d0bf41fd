import type { LauncherConfig } from "../../../crds/launcher/config.ts";
import type { Accelerator } from "../inputs.ts";

/**
 * Enlightenments QEMU 7.2 refuses without KVM ("kernel doesn't allow setting HyperV VP_INDEX", measured here
 * under TCG); synic, stimer, tlbflush and ipi build on vpindex. Under emulation they are left out: a Windows
 * guest runs without them, slower, rather than not at all.
 */
const KVM_ONLY = new Set(["vpindex", "synic", "stimer", "tlbflush", "ipi"]);

/** The `hv-*` properties appended to `-cpu` for the configured Hyper-V enlightenments. */
export function hypervCpuFlags(config: LauncherConfig, accel: Accelerator): string[] {
  const hv = config.hyperv;
  if (!hv) return [];
  return hv.enlightenments.flatMap((name) => {
    if (accel === "tcg" && KVM_ONLY.has(name)) return [];
    if (name === "spinlocks") return [`hv-spinlocks=0x${(hv.spinlocks ?? 8191).toString(16)}`];
    return [`hv-${name}=on`];
  });
}
