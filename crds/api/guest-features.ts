/**
 * Guest-facing platform features Windows needs (KubeVirt's `features.hyperv` and `clock`): Hyper-V
 * enlightenments and the clock's base and timers.
 */
import { z } from "zod";

/** A Hyper-V enlightenment switch, as KubeVirt's FeatureState. */
const feature = () =>
  z
    .object({ enabled: z.boolean().default(true) })
    .strict()
    .optional();

/** Enlightenments QEMU can offer only with KVM; under TCG (emulation) the launcher leaves them out. */
export const KVM_ONLY_HYPERV = ["vpindex", "synic", "stimer", "tlbflush", "ipi"] as const;

/** Hyper-V enlightenments (QEMU `hv-*` CPU flags), named as KubeVirt's. */
export const hypervSchema = z
  .object({
    relaxed: feature().describe("hv-relaxed: no watchdog timeouts in a slow guest."),
    vapic: feature().describe("hv-vapic: virtual APIC assists."),
    spinlocks: z
      .object({
        enabled: z.boolean().default(true),
        spinlocks: z
          .int()
          .min(4095)
          .max(0xffffffff)
          .default(8191)
          .describe("Retries before the guest yields."),
      })
      .strict()
      .optional()
      .describe("hv-spinlocks."),
    vpindex: feature().describe("hv-vpindex (KVM only)."),
    runtime: feature().describe("hv-runtime."),
    synic: feature().describe("hv-synic (KVM only; needs vpindex)."),
    stimer: feature().describe("hv-stimer (KVM only; needs synic and frequencies)."),
    reset: feature().describe("hv-reset."),
    frequencies: feature().describe("hv-frequencies."),
    reenlightenment: feature().describe("hv-reenlightenment."),
    tlbflush: feature().describe("hv-tlbflush (KVM only; needs vpindex)."),
    ipi: feature().describe("hv-ipi (KVM only; needs vpindex)."),
  })
  .strict();

/** Hyper-V enlightenments as written. */
export type Hyperv = z.output<typeof hypervSchema>;

/** Guest features. */
export const featuresSchema = z
  .object({ hyperv: hypervSchema.optional().describe("Hyper-V enlightenments for Windows guests.") })
  .strict();

/** The guest's clock: what the RTC counts from, and the timers. */
export const clockSchema = z
  .object({
    base: z
      .enum(["utc", "localtime"])
      .default("utc")
      .describe("utc (default) or localtime (Windows expects the RTC in local time; the pod's time zone)."),
    timer: z
      .object({
        hpet: z
          .object({ present: z.boolean() })
          .strict()
          .optional()
          .describe("present: false removes the HPET."),
        pit: z
          .object({ tickPolicy: z.enum(["delay", "discard"]) })
          .strict()
          .optional()
          .describe("Lost PIT ticks (KVM's in-kernel PIT only): delay or discard."),
        rtc: z
          .object({ tickPolicy: z.enum(["catchup", "none"]) })
          .strict()
          .optional()
          .describe("catchup: lost RTC ticks are made up (QEMU driftfix=slew)."),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The clock as written. */
export type Clock = z.output<typeof clockSchema>;

/** The QEMU `hv-*` flags for `h` (enabled ones only), dropping the KVM-only ones under TCG. */
export function hypervFlags(h: Hyperv, accel: "kvm" | "tcg"): string[] {
  const out: string[] = [];
  for (const [name, v] of Object.entries(h) as [
    keyof Hyperv,
    { enabled: boolean; spinlocks?: number } | undefined,
  ][]) {
    if (!v?.enabled) continue;
    if (accel === "tcg" && (KVM_ONLY_HYPERV as readonly string[]).includes(name)) continue;
    out.push(name === "spinlocks" ? `hv-spinlocks=0x${(v.spinlocks ?? 8191).toString(16)}` : `hv-${name}=on`);
  }
  return out;
}
