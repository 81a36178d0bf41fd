import { writeFileSync } from "node:fs";

/** Where Kubernetes reads a container's termination message by default. */
export const DEFAULT_TERMINATION_LOG = "/dev/termination-log";
/** Environment variable overriding the termination log path (standalone mode, tests). */
export const TERMINATION_LOG_ENV = "VIREO_TERMINATION_LOG";
/** The kubelet keeps at most this many bytes of a termination message. */
const MAX_BYTES = 4096;

/** Shortens a message to what the kubelet keeps, cutting from the front so the last lines survive. */
export function clampMessage(message: string, maxBytes = MAX_BYTES): string {
  const buf = Buffer.from(message, "utf8");
  if (buf.length <= maxBytes) return message;
  return "…" + buf.subarray(buf.length - maxBytes + 4).toString("utf8");
}

/** Writes the termination message; returns the error instead of throwing (the exit must still happen). */
export function writeTerminationMessage(path: string, message: string): Error | undefined {
  try {
    writeFileSync(path, clampMessage(message));
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
