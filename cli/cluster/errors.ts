/** Stable codes of the cluster commands' errors. */
export type ClusterCliErrorCode =
  | "USAGE"
  | "KUBECONFIG"
  | "UNREACHABLE"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "VM_NOT_FOUND"
  | "NOT_RUNNING"
  | "NO_VNC"
  | "NO_CONSOLE"
  | "LAUNCHER_FAILED"
  | "WAIT_FAILED"
  | "WAIT_TIMEOUT"
  | "API";

/** A cluster-command error whose message says what happened and what to do next. */
export class ClusterCliError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ClusterCliErrorCode;

  constructor(code: ClusterCliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClusterCliError";
    this.code = code;
  }
}
