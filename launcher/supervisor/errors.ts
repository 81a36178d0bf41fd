/** Preparation (disks, network, firmware files) failed before QEMU started. */
export class PrepareError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "PREPARE_FAILED";
  constructor(
    readonly step: "disks" | "network" | "firmware" | "directories",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${message}`, options);
    this.name = "PrepareError";
  }
}
