import { z } from "zod";
import { guestAgentStatusSchema, guestOsInfoSchema } from "../contract/guest-agent.ts";
import { listMap, preserveUnknown } from "./k8s-meta.ts";

/** Coarse lifecycle phase, as KubeVirt's VMI phase plus Stopped. */
export const PHASES = [
  "Stopped",
  "Pending",
  "Scheduling",
  "Scheduled",
  "Running",
  "Succeeded",
  "Failed",
  "Unknown",
] as const;

/** Human-facing status, as KubeVirt's printableStatus. */
export const PRINTABLE_STATUSES = [
  "Stopped",
  "Provisioning",
  "Starting",
  "Running",
  "Paused",
  "Stopping",
  "Terminating",
  "CrashLoopBackOff",
  "Unknown",
  "ErrorUnschedulable",
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrorPvcNotFound",
  "WaitingForVolumeBinding",
  "DataVolumeError",
  "Failed",
  "Succeeded",
  "InvalidSpec",
  "NodeUnreachable",
] as const;

/** Condition types the operator maintains. */
export const CONDITION_TYPES = [
  "Ready",
  "GuestReady",
  "Paused",
  "RestartRequired",
  "Failure",
  "Reconciling",
  "Stalled",
  "AgentConnected",
] as const;

/** A metav1.Condition. */
export const conditionSchema = z
  .object({
    type: z.string().min(1),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
    message: z.string().max(32768),
    lastTransitionTime: z.string(),
    observedGeneration: z.int().min(0).optional(),
  })
  .strict();

/** A guest NIC as reported in status. */
export const interfaceStatusSchema = z
  .object({
    name: z.string(),
    mac: z.string().optional(),
    ips: z.array(z.string()).optional(),
    podInterface: z.string().optional(),
    infoSource: z
      .string()
      .optional()
      .describe("Where the IPs come from: pod (the pod network), guest-agent (the guest itself), or both."),
  })
  .strict();

/** Status of a VirtualMachine; written only by the operator through the status subresource. */
export const vmStatusSchema = z
  .object({
    phase: z.enum(PHASES).optional(),
    printableStatus: z.enum(PRINTABLE_STATUSES).optional(),
    conditions: z.array(conditionSchema).optional().meta(listMap("type")),
    observedGeneration: z.int().min(0).optional(),
    nodeName: z.string().optional(),
    launcherPod: z.string().optional(),
    interfaces: z.array(interfaceStatusSchema).optional(),
    ipAddress: z.string().optional().describe("First IP of the first interface, for printer columns."),
    guestOSInfo: guestOsInfoSchema
      .optional()
      .describe("The guest OS as its QEMU guest agent reports it (while the agent is connected)."),
    guestAgentInfo: guestAgentStatusSchema
      .optional()
      .describe("Hostname, timezone, filesystems and users as the guest agent reports them."),
    ready: z
      .boolean()
      .optional()
      .describe("The guest runs and passes its readiness (the GuestReady condition)."),
    restartCount: z.int().min(0).optional().describe("Launcher pods started after the first one."),
    restartedAt: z.string().optional().describe("The vireo.dev/restartedAt annotation value last acted on."),
    startFailure: z
      .object({
        consecutiveFailCount: z.int().min(0),
        retryAfterTimestamp: z.string().optional(),
        lastFailureMessage: z.string().optional(),
      })
      .strict()
      .optional()
      .describe("Crash-loop back-off state."),
    lastRun: z
      .object({
        phase: z.enum(["Succeeded", "Failed"]),
        pod: z.string().describe("uid of the launcher pod that ran it."),
        finishedAt: z.string().optional(),
        message: z.string().max(4096).optional(),
        restartedAt: z.string().optional().describe("The restart request that pod was made for."),
      })
      .strict()
      .optional()
      .describe(
        "A run that ended and is not repeated (Once, RerunOnFailure after success, Manual): remembered so that the run is not repeated when its pod disappears.",
      ),
    createdToRunningSeconds: z
      .number()
      .optional()
      .describe("Seconds from creation (or start request) to Running."),
    expandedSpec: z
      .record(z.string(), z.unknown())
      .optional()
      .meta(preserveUnknown)
      .describe(
        "The spec the VM runs with, expanded with its instancetype and preference (only for a VM naming one); `vireo expand` shows the same.",
      ),
  })
  .strict();

/** VirtualMachine status. */
export type VmStatus = z.infer<typeof vmStatusSchema>;
/** A metav1.Condition. */
export type Condition = z.infer<typeof conditionSchema>;
