/**
 * Live migration as data: the QMP capabilities and parameters each side sets, the incoming URI, the
 * completion deadline. Pure; `source.ts` and `target.ts` carry it out over QMP.
 */
import { MIGRATION_DEFAULTS } from "../../crds/contract/migration.ts";

/** Tuning of one migration as the operator passes it (crds/api's MigrationSettings, all optional). */
export interface MigrationTuning {
  bandwidthBytesPerSecond?: number | undefined;
  completionTimeoutPerGiB?: number | undefined;
  autoConverge?: boolean | undefined;
}

/** One `migrate-set-capabilities` entry. */
export interface QmpCapability {
  capability: string;
  state: boolean;
}

/** What the source sets before `migrate`, and how long the migration may take. */
export interface SourcePlan {
  capabilities: QmpCapability[];
  parameters: Record<string, number>;
  /** Cancel the migration (MIGRATION_TIMEOUT) when it has not completed after this long. */
  deadlineMs: number;
}

const GIB = 2 ** 30;

/**
 * The source's plan. `events` makes QEMU send MIGRATION events (the target's completion is seen at once);
 * auto-converge throttles the vCPUs when a dirtying guest outruns the bandwidth. The deadline scales with
 * guest memory as KubeVirt's completionTimeoutPerGiB (at least one GiB's worth).
 */
export function sourcePlan(tuning: MigrationTuning, guestMemoryBytes: number): SourcePlan {
  const perGiB = tuning.completionTimeoutPerGiB ?? MIGRATION_DEFAULTS.completionTimeoutPerGiB;
  return {
    capabilities: [
      { capability: "events", state: true },
      { capability: "auto-converge", state: tuning.autoConverge ?? MIGRATION_DEFAULTS.autoConverge },
    ],
    parameters: {
      "max-bandwidth": tuning.bandwidthBytesPerSecond ?? MIGRATION_DEFAULTS.bandwidthBytesPerSecond,
      "downtime-limit": MIGRATION_DEFAULTS.downtimeLimitMs,
    },
    deadlineMs: Math.max(1, Math.ceil(guestMemoryBytes / GIB)) * perGiB * 1000,
  };
}

/** The target's capabilities: events, so the launcher sees completion and failure as they happen. */
export const TARGET_CAPABILITIES: readonly QmpCapability[] = [{ capability: "events", state: true }];

/** QEMU's `-incoming` argument for a target: wait for `migrate-incoming` (the address is known later). */
export const INCOMING_DEFER_ARGS: readonly string[] = ["-incoming", "defer"];

/** The QEMU arguments a config adds for migration: `-incoming defer` on a target, nothing otherwise. */
export function incomingArgs(config: { migration?: { incoming: boolean } | undefined }): string[] {
  return config.migration?.incoming ? [...INCOMING_DEFER_ARGS] : [];
}

/** The `tcp:` URI of a migration endpoint; an IPv6 address goes in brackets. */
export function incomingUri(address: string, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port ${port}`);
  return address.includes(":") ? `tcp:[${address}]:${port}` : `tcp:${address}:${port}`;
}
