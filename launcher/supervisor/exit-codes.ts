/**
 * The launcher's exit codes. The kubelet records them on the container and the operator reads them (with
 * the termination message) to tell a clean stop from a failure.
 */
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
} as const;

/** One of the launcher's exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
