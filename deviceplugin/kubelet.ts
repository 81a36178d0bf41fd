/**
 * Pure decision of when to (re-)register with the kubelet. A restarting kubelet deletes every socket in
 * the device-plugin directory, ours included, then creates a new `kubelet.sock`; a plugin must notice, serve
 * again and register again. We recognise "a new kubelet" by the identity of its socket file.
 */

/** Identity of a socket file: inode plus change time, so a file recreated on a reused inode still differs. */
export type SocketIdentity = string;

/** What the plugin saw on one look at the device-plugin directory. */
export interface KubeletObservation {
  /** Identity of kubelet.sock, or undefined when it does not exist (kubelet down or restarting). */
  kubeletSocket: SocketIdentity | undefined;
  /** Whether all of our own sockets still exist. */
  ownSocketsPresent: boolean;
}

/** What to do next. */
export type KubeletAction =
  /** Nothing: registered with this kubelet and serving. */
  | "none"
  /** No kubelet socket: keep serving and look again later. */
  | "wait"
  /** Serving, not registered with this kubelet yet (first start or a failed attempt): register. */
  | "register"
  /** Our sockets are gone or a new kubelet appeared: serve again on fresh sockets, then register. */
  | "restart-and-register";

/** Decides the next step from the kubelet socket we registered with (if any) and what we see now. */
export function decideKubeletAction(
  registeredWith: SocketIdentity | undefined,
  now: KubeletObservation,
): KubeletAction {
  if (now.kubeletSocket === undefined) return "wait";
  if (!now.ownSocketsPresent) return "restart-and-register";
  if (registeredWith === undefined) return "register";
  return registeredWith === now.kubeletSocket ? "none" : "restart-and-register";
}
