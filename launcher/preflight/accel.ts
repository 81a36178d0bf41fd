import type { Accelerator } from "../qemu/inputs.ts";

/** What probing /dev/kvm found. */
export type KvmProbe =
  | {
      usable: true;
      /** CPU properties `-cpu host` needs on this host (e.g. `-arch-capabilities`). */
      hostCpuQuirks: string[];
      /** Set when KVM is a paravirtual shim (kvm_pvm): it works, but full guests run far too slowly. */
      degraded?: string;
    }
  | { usable: false; reason: string };

/** The accelerator decision and why, for the log and the status endpoint. */
export interface AcceleratorChoice {
  accel: Accelerator;
  hostCpuQuirks: string[];
  reason: string;
}

/** No acceptable accelerator: KVM is unusable (or refused) and the VM does not allow emulation. */
export class AcceleratorError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "ACCELERATOR_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AcceleratorError";
  }
}

/** The environment variable that forces an accelerator: `kvm`, `tcg` (only with allowEmulation) or `auto`. */
export const ACCEL_ENV = "VIREO_ACCEL";

/** Parses VIREO_ACCEL; unknown values are an error rather than a silent default. */
export function acceleratorOverride(value: string | undefined): "auto" | Accelerator {
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "kvm" || value === "tcg") return value;
  throw new AcceleratorError(`${ACCEL_ENV}=${value}: must be kvm, tcg or auto`);
}

/**
 * Chooses KVM or TCG (pure). KVM whenever it is usable and not a known-degraded shim; TCG only when the VM
 * allows emulation — never as a silent fallback: the reason always names why.
 */
export function chooseAccelerator(
  probe: KvmProbe | undefined,
  allowEmulation: boolean,
  override: "auto" | Accelerator,
): AcceleratorChoice {
  const tcg = (reason: string): AcceleratorChoice => ({ accel: "tcg", hostCpuQuirks: [], reason });
  if (override === "tcg") {
    if (!allowEmulation)
      throw new AcceleratorError(
        `${ACCEL_ENV}=tcg, but the VM does not allow emulation (accelerator.allowEmulation)`,
      );
    return tcg(`emulation forced by ${ACCEL_ENV}=tcg`);
  }
  if (!probe) throw new AcceleratorError("KVM was not probed");
  if (!probe.usable) {
    if (override === "kvm")
      throw new AcceleratorError(`${ACCEL_ENV}=kvm, but KVM is unusable: ${probe.reason}`);
    if (!allowEmulation)
      throw new AcceleratorError(
        `KVM is unusable (${probe.reason}) and the VM does not allow emulation (accelerator.allowEmulation)`,
      );
    return tcg(`KVM is unusable (${probe.reason}); emulating with TCG because the VM allows emulation`);
  }
  const kvm = (reason: string): AcceleratorChoice => ({
    accel: "kvm",
    hostCpuQuirks: probe.hostCpuQuirks,
    reason,
  });
  if (probe.degraded && override === "auto") {
    return allowEmulation
      ? tcg(
          `KVM works but is degraded (${probe.degraded}); emulating with TCG because the VM allows emulation`,
        )
      : kvm(`KVM is degraded (${probe.degraded}) but the VM does not allow emulation; using KVM`);
  }
  return kvm(override === "kvm" ? `KVM forced by ${ACCEL_ENV}=kvm` : "KVM is usable");
}
