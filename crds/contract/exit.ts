/**
 * How the launcher says how its VM ended: its exit code and its termination message. The kubelet records
 * both on the container; the operator reads them (the pod holds no API credentials, so this is the way status
 * flows back) to tell a clean stop from a failure.
 */

/** The launcher's exit codes. */
export const EXIT = {
  /** The guest powered off, or a requested stop finished (ACPI power-off or quit at the deadline). */
  OK: 0,
  /** Anything unexpected in the launcher itself. */
  INTERNAL: 1,
  /** The config did not validate (nothing was started). */
  CONFIG: 2,
  /** No usable accelerator (KVM unusable and emulation not allowed). */
  PREFLIGHT: 3,
  /** QEMU exited without the guest powering off (crash, kill, bad argv). */
  QEMU_DIED: 4,
  /** The guest kernel panicked (pvpanic). */
  GUEST_PANICKED: 5,
  /** Disks or network could not be prepared (nothing was started). */
  PREPARE: 6,
  /** The guest's watchdog fired and its action (poweroff, or shutdown obeyed) ended the VM. */
  WATCHDOG: 7,
} as const;

/** One of the launcher's exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** How the launcher ended: the exit code and the termination message that goes with it. */
export interface LauncherResult {
  code: ExitCode;
  message: string;
}

/** The kubelet keeps at most this many bytes of a termination message. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096;

/** Shortens a message to what the kubelet keeps, cutting from the front so the last lines survive. */
export function clampMessage(message: string, maxBytes = TERMINATION_MESSAGE_MAX_BYTES): string {
  const buf = Buffer.from(message, "utf8");
  if (buf.length <= maxBytes) return message;
  return "…" + buf.subarray(buf.length - maxBytes + 4).toString("utf8");
}
