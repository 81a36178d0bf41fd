/** Why a QMP exchange failed. */
export type QmpErrorCode =
  | "QMP_CONNECT" // the socket could not be reached
  | "QMP_PROTOCOL" // the peer sent something that is not QMP
  | "QMP_COMMAND" // QEMU answered a command with an error
  | "QMP_TIMEOUT" // no answer in time
  | "QMP_CLOSED"; // the connection ended

/** A QMP failure with a stable code; command errors carry QEMU's error class and description. */
export class QmpError extends Error {
  constructor(
    readonly code: QmpErrorCode,
    message: string,
    readonly details: { command?: string; errorClass?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "QmpError";
  }
}
