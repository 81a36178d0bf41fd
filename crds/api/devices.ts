import { z } from "zod";
import { celOf, exactlyOneRule, type Rule } from "./rule.ts";

/** What QEMU does when the guest stops petting its watchdog (KubeVirt's i6300esb actions). */
export const WATCHDOG_ACTIONS = ["poweroff", "reset", "shutdown"] as const;

/** A hardware watchdog the guest arms (`/dev/watchdog`), as KubeVirt's devices.watchdog. */
export const watchdogSchema = z
  .object({
    name: z.string().min(1).max(63).default("watchdog").describe("A name for the device (KubeVirt's)."),
    i6300esb: z
      .object({
        action: z
          .enum(WATCHDOG_ACTIONS)
          .default("poweroff")
          .describe(
            "When the guest stops petting it: poweroff (QEMU stops the VM at once; a failure the runStrategy restarts), reset (a hard reset in the same pod), shutdown (the ACPI power button).",
          ),
      })
      .strict()
      .describe("The Intel 6300ESB PCI watchdog (Linux driver i6300esb; Windows has none built in)."),
  })
  .strict()
  .describe(
    "A hardware watchdog: when the guest stops petting it, QEMU acts; reported in status and an Event.",
  );

/** Optional devices; sensible ones are on by default. */
export const devicesSchema = z
  .object({
    serialConsole: z.boolean().default(true).describe("A serial console reachable with `vireo console`."),
    vnc: z
      .boolean()
      .default(false)
      .describe("A VNC display on 127.0.0.1 inside the pod, reachable with `vireo vnc`."),
    rng: z.boolean().default(true).describe("virtio-rng fed from the host's /dev/urandom."),
    memoryBalloon: z
      .boolean()
      .default(true)
      .describe("virtio-balloon with statistics (guest memory metrics)."),
    tpm: z
      .object({
        persistent: z
          .boolean()
          .optional()
          .describe(
            "Keep the TPM's state on the VM's state claim across restarts (Windows 11, BitLocker); default: lost when the pod ends.",
          ),
      })
      .strict()
      .optional()
      .describe("A virtual TPM 2.0 (swtpm, TPM CRB interface), as KubeVirt's devices.tpm."),
    watchdog: watchdogSchema.optional(),
  })
  .strict();

/** A probe's rule: one handler. */
export const PROBE_RULES: Rule<object>[] = [
  exactlyOneRule(
    "probe-one-handler",
    ["httpGet", "tcpSocket", "guestAgentPing", "exec"],
    "a probe",
    "a probe must set exactly one of httpGet, tcpSocket, guestAgentPing or exec",
  ),
];

/** A probe of the guest, mapped onto the launcher pod (the guest answers at the pod IP). */
export const guestProbeSchema = z
  .object({
    httpGet: z
      .object({
        port: z.int().min(1).max(65535),
        path: z.string().regex(/^\//, "must start with /").default("/"),
      })
      .strict()
      .optional(),
    tcpSocket: z
      .object({ port: z.int().min(1).max(65535) })
      .strict()
      .optional(),
    guestAgentPing: z
      .object({})
      .strict()
      .optional()
      .describe("Passes while the guest's QEMU guest agent answers guest-ping (KubeVirt's guestAgentPing)."),
    exec: z
      .object({
        command: z
          .array(z.string().min(1).max(4096))
          .min(1)
          .max(64)
          .describe("Run in the guest by its guest agent (guest-exec); exit status 0 passes."),
      })
      .strict()
      .optional()
      .describe("A command the guest agent runs in the guest (KubeVirt's exec probe; needs the agent)."),
    initialDelaySeconds: z.int().min(0).max(3600).optional(),
    periodSeconds: z.int().min(1).max(3600).optional(),
    timeoutSeconds: z.int().min(1).max(3600).optional(),
    failureThreshold: z.int().min(1).max(100).optional(),
    successThreshold: z.int().min(1).max(100).optional(),
  })
  .strict()
  .meta(celOf(PROBE_RULES));
