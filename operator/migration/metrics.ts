/**
 * The migration controller's metrics (vireo_operator_migration*): migrations by result, their duration and
 * QEMU's downtime as histograms with sub-second buckets, bytes sent, and the start time of each migration in
 * progress (the "stuck" alert's input). Recorded when a reconcile writes a phase change.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { FINAL_MIGRATION_PHASES, type MigrationStatus } from "../../crds/api/migration.ts";

/** The metrics, registered on one registry. */
export interface MigrationMetrics {
  total: Counter<"result">;
  duration: Histogram<"result">;
  downtime: Histogram;
  transferred: Counter;
  started: Gauge<"namespace" | "name">;
}

/** Registers the migration metrics on `registry`. */
export function migrationMetrics(registry: Registry): MigrationMetrics {
  const registers = [registry];
  return {
    total: new Counter({
      name: "vireo_operator_migrations_total",
      help: "Live migrations that reached a final phase, by result (Succeeded, Failed, Cancelled; refusals are Failed).",
      labelNames: ["result"],
      registers,
    }),
    duration: new Histogram({
      name: "vireo_operator_migration_duration_seconds",
      help: "Time from accepting a migration to its final phase.",
      labelNames: ["result"],
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    downtime: new Histogram({
      name: "vireo_operator_migration_downtime_seconds",
      help: "Guest downtime at switch-over of successful migrations, as QEMU measured it.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    transferred: new Counter({
      name: "vireo_operator_migration_transferred_bytes_total",
      help: "Bytes QEMU sent in successful migrations.",
      registers,
    }),
    started: new Gauge({
      name: "vireo_operator_migration_started_timestamp_seconds",
      help: "Start time of each migration not yet in a final phase (Unix seconds).",
      labelNames: ["namespace", "name"],
      registers,
    }),
  };
}

const final = (s: MigrationStatus | undefined) => !!s?.phase && FINAL_MIGRATION_PHASES.includes(s.phase);
const seconds = (t: string | undefined) => (t ? Date.parse(t) / 1000 : undefined);

/** Records a written status change of migration `namespace/name` (`before` → `after`). */
export function recordMigration(
  m: MigrationMetrics,
  ref: { namespace: string; name: string },
  before: MigrationStatus | undefined,
  after: MigrationStatus,
): void {
  if (!final(after)) {
    const start = seconds(after.startTime);
    if (start !== undefined) m.started.set(ref, start);
    return;
  }
  if (final(before)) return;
  m.started.remove(ref);
  const result = after.phase!;
  m.total.inc({ result });
  const start = seconds(after.startTime);
  const end = seconds(after.endTime);
  if (start !== undefined && end !== undefined) m.duration.observe({ result }, Math.max(0, end - start));
  if (result !== "Succeeded") return;
  if (after.progress?.downtimeMilliseconds !== undefined)
    m.downtime.observe(after.progress.downtimeMilliseconds / 1000);
  if (after.progress?.transferredBytes !== undefined) m.transferred.inc(after.progress.transferredBytes);
}
