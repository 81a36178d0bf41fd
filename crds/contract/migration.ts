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
