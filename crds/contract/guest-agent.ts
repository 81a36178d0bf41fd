/**
 * What the launcher reports about the QEMU guest agent (`vireo-launcher agent`, the control command `agent`):
 * whether it answers, and what it last said about the guest. Shared by the launcher (writes it), the CLI
 * (`vireo guestosinfo|userlist|fslist`) and the operator (VM status). Everything in it came from the guest,
 * so the launcher bounds every string and list before it gets here. VM status (crds/api/status.ts) uses the
 * same shapes.
 */
import { z } from "zod";

/** Bounds the launcher applies to what the guest reports. */
export const AGENT_REPORT_LIMITS = {
  text: 256,
  interfaces: 16,
  ipsPerInterface: 16,
  filesystems: 64,
  users: 64,
} as const;

const text = z.string().max(AGENT_REPORT_LIMITS.text);

/** The guest OS as the agent names it (KubeVirt's `guestOSInfo`). */
export const guestOsInfoSchema = z
  .object({
    id: text.optional(),
    name: text.optional(),
    prettyName: text.optional(),
    version: text.optional(),
    versionId: text.optional(),
    kernelRelease: text.optional(),
    kernelVersion: text.optional(),
    machine: text.optional(),
  })
  .strict();

/** One guest network interface with the guest's own addresses. */
export const guestInterfaceSchema = z
  .object({
    name: text,
    mac: text.optional(),
    ips: z.array(text).max(AGENT_REPORT_LIMITS.ipsPerInterface),
  })
  .strict();

/** One mounted guest filesystem. */
export const guestFilesystemSchema = z
  .object({
    name: text,
    mountpoint: text,
    type: text,
    usedBytes: z.number().min(0).optional(),
    totalBytes: z.number().min(0).optional(),
    disks: z.array(text).max(16).optional(),
  })
  .strict();

/** One logged-in guest user. */
export const guestUserSchema = z
  .object({
    name: text,
    domain: text.optional(),
    loginTime: z.number().optional().describe("Seconds since the epoch."),
  })
  .strict();

/** What the agent last reported (each part absent until the agent answered it). */
export const guestInfoSchema = z
  .object({
    agentVersion: text.optional(),
    osInfo: guestOsInfoSchema.optional(),
    hostname: text.optional(),
    timezone: z.object({ zone: text, offsetSeconds: z.int() }).strict().optional(),
    interfaces: z.array(guestInterfaceSchema).max(AGENT_REPORT_LIMITS.interfaces).optional(),
    filesystems: z.array(guestFilesystemSchema).max(AGENT_REPORT_LIMITS.filesystems).optional(),
    users: z.array(guestUserSchema).max(AGENT_REPORT_LIMITS.users).optional(),
  })
  .strict();

/** The guest OS info. */
export type GuestOsInfo = z.infer<typeof guestOsInfoSchema>;
/** What the agent last reported. */
export type GuestInfo = z.infer<typeof guestInfoSchema>;

/** The agent's report as VM status carries it (`status.guestAgentInfo`): what changes slowly. */
export const guestAgentStatusSchema = z
  .object({
    agentVersion: text.optional(),
    hostname: text.optional(),
    timezone: z.object({ zone: text, offsetSeconds: z.int() }).strict().optional(),
    filesystems: z
      .array(guestFilesystemSchema.omit({ usedBytes: true }))
      .max(AGENT_REPORT_LIMITS.filesystems)
      .optional()
      .describe("Mounted filesystems (used bytes change too often for status: vireo fslist shows them)."),
    users: z.array(guestUserSchema).max(AGENT_REPORT_LIMITS.users).optional(),
  })
  .strict();
/** `status.guestAgentInfo`. */
export type GuestAgentStatus = z.infer<typeof guestAgentStatusSchema>;

/** The `agent` control command's result. */
export const agentReportSchema = z
  .object({
    connected: z.boolean(),
    reason: z.string(),
    message: z.string(),
    /** When the agent last answered a full poll (ISO time). */
    updatedAt: z.string().optional(),
    info: guestInfoSchema,
    counters: z.record(z.string(), z.number()),
  })
  .strict();

/** The `agent` control command's result. */
export type AgentReport = z.infer<typeof agentReportSchema>;

/** The guest agent's virtio-serial port name (what qemu-guest-agent opens in the guest). */
export const GUEST_AGENT_PORT = "org.qemu.guest_agent.0";

/** The agent channel's socket in a run directory (QEMU listens, the launcher connects). */
export function agentSocketPath(runDir: string): string {
  return `${runDir}/agent.sock`;
}
