/**
 * The launcher's control socket protocol (`kubectl exec … vireo-launcher pause|unpause|status|logs`): one JSON
 * request line, one JSON response line per connection, on a unix socket in the run directory.
 */
import { z } from "zod";
import { migrationRequestSchema } from "./migration.ts";

/** Commands the control socket accepts. */
export const CONTROL_COMMANDS = [
  "status",
  "pause",
  "unpause",
  "logs",
  // The guest agent (crds/contract/guest-agent.ts): its report, a ping, an exec probe, a soft reboot, and
  // the freeze/thaw that snapshots use.
  "agent",
  "agent-ping",
  "agent-exec",
  "soft-reboot",
  "fsfreeze",
  "fsthaw",
  "fsfreeze-status",
  // Live migration (crds/contract/migration.ts): the operator drives both launchers through these.
  "migrate-listen",
  "migrate-start",
  "migrate-cancel",
  "migrate-status",
  // Online disk resize: the operator passes a claim's new capacity once the kubelet has expanded it.
  "resize-disk",
] as const;

/** One control command. */
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** A control request line. */
export const controlRequestSchema = z
  .object({
    command: z.enum(CONTROL_COMMANDS),
    /** agent-exec: the command line to run in the guest; at most 64 arguments of 4 KiB. */
    args: z.array(z.string().max(4096)).max(64).optional(),
    /** agent-ping, agent-exec: how long to wait for the guest. */
    timeoutSeconds: z.number().positive().max(3600).optional(),
    /** migrate-listen: the address to listen on; migrate-start: the target's address and the settings. */
    migration: migrationRequestSchema.optional(),
    /** resize-disk: the disk (by its VM name) and its claim's capacity as the PVC's status reports it. */
    resize: z
      .object({ disk: z.string().min(1).max(63), capacityBytes: z.number().int().positive() })
      .strict()
      .optional(),
  })
  .strict();
/** One control request. */
export type ControlRequest = z.infer<typeof controlRequestSchema>;
/** One control response. */
export type ControlResponse =
  { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** The `logs` command's result: the console's recent output. */
export interface ControlLogs {
  console: string;
}

/** Stable error codes of control responses and of the client. */
export const CONTROL_ERRORS = {
  /** The request line was not JSON or not a known command. */
  BAD_REQUEST: "CONTROL_BAD_REQUEST",
  /** The command failed without a code of its own. */
  FAILED: "CONTROL_FAILED",
  /** pause: the VM is not running. */
  NOT_RUNNING: "NOT_RUNNING",
  /** unpause: the VM is not paused. */
  NOT_PAUSED: "NOT_PAUSED",
  /** unpause: a panicked guest stays paused. */
  PANICKED: "PANICKED",
  /** agent commands: the guest agent does not answer (the message says why). */
  AGENT_UNAVAILABLE: "AGENT_UNAVAILABLE",
  /** resize-disk: the claim is smaller than the disk; a disk is never shrunk. */
  SHRINK_REFUSED: "DISK_SHRINK_REFUSED",
  /** resize-disk: no such disk, or one that cannot grow (read-only, not a claim, no room on the volume). */
  RESIZE_REFUSED: "DISK_RESIZE_REFUSED",
  /** Client side: no answer in time. */
  TIMEOUT: "CONTROL_TIMEOUT",
  /** Client side: the socket could not be reached. */
  UNREACHABLE: "CONTROL_UNREACHABLE",
  /** Client side: the answer was not a response line. */
  PROTOCOL: "CONTROL_PROTOCOL",
} as const;
