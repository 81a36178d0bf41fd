/**
 * VirtualMachineMigration (vireo.dev/v1alpha1): a request to move a running VM's guest to another launcher
 * pod without a reboot, in KubeVirt's `VirtualMachineInstanceMigration` shape (`spec.vmName` is KubeVirt's
 * `vmiName`). The operator fills the status; the spec is immutable once created.
 */
import { z } from "zod";
import { cel } from "./k8s-meta.ts";
import { objectName } from "./names.ts";
import { conditionSchema } from "./status.ts";
import { GROUP, VERSION } from "../contract/metadata.ts";

/** Kind. */
export const MIGRATION_KIND = "VirtualMachineMigration";
/** Plural resource name. */
export const MIGRATION_PLURAL = "virtualmachinemigrations";
/** `apiVersion` of a VirtualMachineMigration. */
export const MIGRATION_API_VERSION = `${GROUP}/${VERSION}`;

/** What happens to a VM whose launcher pod is evicted (drain): KubeVirt's two useful values. */
export const EVICTION_STRATEGIES = ["LiveMigrate", "None"] as const;
/** A VM's eviction strategy. */
export type EvictionStrategy = (typeof EVICTION_STRATEGIES)[number];

/** Phases, as KubeVirt's migration phases (fewer: PreparingTarget is our TargetReady's way there). */
export const MIGRATION_PHASES = [
  "Pending",
  "Scheduling",
  "TargetReady",
  "Running",
  "Succeeded",
  "Failed",
  "Cancelled",
] as const;
/** A migration phase. */
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];
/** Phases after which nothing changes. */
export const FINAL_MIGRATION_PHASES: readonly MigrationPhase[] = ["Succeeded", "Failed", "Cancelled"];

/** Bandwidth cap: 1 MiB/s to 100 GiB/s (QEMU's max-bandwidth is bytes per second). */
const MIN_BANDWIDTH = 2 ** 20;
const MAX_BANDWIDTH = 100 * 2 ** 30;

/** Tuning of one migration; the defaults are KubeVirt's (its MigrationConfiguration). */
export const migrationSettingsSchema = z
  .object({
    bandwidthBytesPerSecond: z
      .int()
      .min(MIN_BANDWIDTH)
      .max(MAX_BANDWIDTH)
      .optional()
      .describe("Cap on migration traffic in bytes per second (default: 64 MiB/s, as KubeVirt)."),
    completionTimeoutPerGiB: z
      .int()
      .min(1)
      .max(86400)
      .optional()
      .describe("Seconds per GiB of guest memory before an unfinished migration is cancelled (default 150)."),
    autoConverge: z
      .boolean()
      .optional()
      .describe("Throttle the guest's vCPUs when pre-copy does not converge (default true)."),
    allowPostCopy: z
      .boolean()
      .optional()
      .describe("Not yet supported: a migration with true is refused (post-copy is planned)."),
  })
  .strict();

/** Spec of a VirtualMachineMigration. */
export const migrationSpecSchema = z
  .object({
    vmName: objectName().describe("The VirtualMachine to migrate, in this namespace."),
    targetNode: objectName()
      .optional()
      .describe("Node to migrate to (default: the scheduler picks any node but the source's)."),
    settings: migrationSettingsSchema.optional().describe("Bandwidth, timeout and convergence settings."),
    cancel: z
      .boolean()
      .optional()
      .describe("Set to true to cancel (vireo migrate --cancel); the source keeps running."),
  })
  .strict()
  .meta(
    cel({
      rule:
        "self.vmName == oldSelf.vmName && has(self.targetNode) == has(oldSelf.targetNode) && " +
        "(!has(self.targetNode) || self.targetNode == oldSelf.targetNode)",
      message: "vmName and targetNode are immutable; only cancel may change",
    }),
  );

/** Where one side of the migration runs. */
const endpointSchema = z
  .object({
    pod: z.string().optional().describe("Launcher pod."),
    node: z.string().optional().describe("Node of the launcher pod."),
    address: z.string().optional().describe("Pod IP the target listens on (target only)."),
  })
  .strict();

/** Progress as QEMU reports it (query-migrate), copied by the operator. */
export const migrationProgressSchema = z
  .object({
    transferredBytes: z.int().min(0).optional(),
    remainingBytes: z.int().min(0).optional(),
    totalBytes: z.int().min(0).optional(),
    iterations: z.int().min(0).optional().describe("Pre-copy passes over guest memory (dirty-sync count)."),
    throttlePercent: z.int().min(0).max(100).optional().describe("Auto-converge's vCPU throttle."),
    downtimeMilliseconds: z.int().min(0).optional().describe("Guest downtime QEMU measured at switch-over."),
  })
  .strict();

/** Observed state of a VirtualMachineMigration. */
export const migrationStatusSchema = z
  .object({
    phase: z.enum(MIGRATION_PHASES).optional(),
    source: endpointSchema.optional(),
    target: endpointSchema.optional(),
    startTime: z.string().optional().describe("When the operator accepted the migration (RFC 3339)."),
    endTime: z.string().optional().describe("When it reached a final phase (RFC 3339)."),
    progress: migrationProgressSchema.optional(),
    reason: z.string().optional().describe("Why it failed or was refused: a stable code."),
    message: z.string().max(4096).optional().describe("The failure in words."),
    observedGeneration: z.int().optional(),
    conditions: z.array(conditionSchema).optional(),
  })
  .strict();

/** A VirtualMachineMigration, validated. */
export const migrationSchema = z
  .object({
    apiVersion: z.literal(MIGRATION_API_VERSION),
    kind: z.literal(MIGRATION_KIND),
    metadata: z
      .object({
        name: z.string().optional(),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        generation: z.int().optional(),
        resourceVersion: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        creationTimestamp: z.string().optional(),
        deletionTimestamp: z.string().optional(),
      })
      .loose(),
    spec: migrationSpecSchema,
    status: migrationStatusSchema.optional(),
  })
  .strict();

/** A validated VirtualMachineMigration. */
export type VirtualMachineMigration = z.output<typeof migrationSchema>;
/** A migration spec. */
export type MigrationSpec = z.output<typeof migrationSpecSchema>;
/** A migration status. */
export type MigrationStatus = z.output<typeof migrationStatusSchema>;
/** Migration progress figures. */
export type MigrationProgress = z.output<typeof migrationProgressSchema>;
/** Migration settings. */
export type MigrationSettings = z.output<typeof migrationSettingsSchema>;
