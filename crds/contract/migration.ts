import { z } from "zod";

/**
 * What the operator and the launcher agree on for live migration: the port the target launcher's QEMU
 * listens on, the pod label that marks a migration target, and the defaults of the tuning knobs.
 */

/** TCP port of the target's incoming migration (KubeVirt uses 49152/49153 for its proxies; ours is one). */
export const MIGRATION_PORT = 49152;

/** Label on a migration's target launcher pod: the migration's name. */
export const LABEL_MIGRATION = "vireo.dev/migration";

/** Defaults of a migration's settings, KubeVirt's MigrationConfiguration defaults. */
export const MIGRATION_DEFAULTS = {
  /** 64 MiB/s, KubeVirt's bandwidthPerMigration. */
  bandwidthBytesPerSecond: 64 * 2 ** 20,
  /** Seconds per GiB of guest memory before a migration that has not finished is cancelled. */
  completionTimeoutPerGiB: 150,
  autoConverge: true,
  /** Longest guest pause QEMU aims for at switch-over (its downtime-limit; QEMU's default is 300 ms). */
  downtimeLimitMs: 300,
} as const;

/** The migration part of a control request: an IP address (the target pod's) and the source's settings. */
export const migrationRequestSchema = z
  .object({
    address: z.union([z.ipv4(), z.ipv6()]),
    settings: z
      .object({
        bandwidthBytesPerSecond: z.int().min(1).optional(),
        completionTimeoutPerGiB: z.int().min(1).optional(),
        autoConverge: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
/** A control request's migration part. */
export type MigrationRequest = z.infer<typeof migrationRequestSchema>;

/** Codes of refused migration commands (control replies). */
export const MIGRATION_ERRORS = {
  /** A migration is already listening, running or done here. */
  BUSY: "MIGRATION_BUSY",
  /** migrate-listen on a launcher that runs a guest. */
  NOT_A_TARGET: "NOT_A_TARGET",
  /** migrate-start/cancel on a launcher that waits for an incoming guest. */
  NOT_A_SOURCE: "NOT_A_SOURCE",
  /** migrate-cancel with nothing running. */
  NOT_MIGRATING: "NOT_MIGRATING",
  /** migrate-listen/start without `migration.address`. */
  NO_ADDRESS: "MIGRATION_NO_ADDRESS",
} as const;

/**
 * Annotation on a migration's target launcher pod: the migration's name. The VM reconciler leaves such a pod
 * alone while the VM's current pod runs, and takes it as the VM's pod once the current one has handed its
 * guest over (operator/migration/adoption.ts). An annotation, not a label: the operator's pod cache keeps
 * annotations and drops labels.
 */
export const ANNOTATION_MIGRATION_TARGET = "vireo.dev/migration-target";
