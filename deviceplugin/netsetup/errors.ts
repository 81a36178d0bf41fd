/** Stable error codes of the node network-setup agent; each is sent to the caller as `{ok: false, code}`. */
export type NetsetupErrorCode =
  /** The caller is not a pod's container (its cgroup names no pod). */
  | "NOT_A_POD"
  /** The kubelet shows no container holding the slot whose socket the caller used. */
  | "NO_DEVICE"
  /** The kubelet's pod-resources API could not be asked. */
  | "KUBELET_UNAVAILABLE"
  /** The request line is not valid (too long, not JSON, not a launcher config). */
  | "BAD_REQUEST"
  /** The plan would leave the pod's namespace (vet.ts). */
  | "PLAN_REFUSED"
  /** The caller's process went away (or its pid was reused) while it was being checked. */
  | "PEER_GONE"
  /** Setting the namespace up failed (launcher/network's own code is in the message). */
  | "SETUP_FAILED";

/** An error of the node agent with a stable `code`. */
export class NetsetupError extends Error {
  /** Stable, machine-readable code. */
  readonly code: NetsetupErrorCode;

  constructor(code: NetsetupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetsetupError";
    this.code = code;
  }
}
