/** A config and prepared devices that QEMU cannot express; raised before anything starts. */
export class QemuArgsError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "QEMU_ARGS_INVALID";
  constructor(
    /** The offending field, e.g. `disks[2].bus`. */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
    this.name = "QemuArgsError";
  }
}
