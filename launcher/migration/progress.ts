/**
 * The source side's decisions, pure: QEMU's `query-migrate` reply → progress figures, and given where the
 * migration stands (status, time, a cancel request) → what to do next.
 */
import { z } from "zod";

/** QEMU's MigrationStatus values (QAPI, 7.2). */
export const QEMU_MIGRATION_STATUSES = [
  "none",
  "setup",
  "cancelling",
  "cancelled",
  "active",
  "postcopy-active",
  "postcopy-paused",
  "postcopy-recover",
  "completed",
  "failed",
  "colo",
  "pre-switchover",
  "device",
  "wait-unplug",
] as const;
/** One QEMU migration status. */
export type QemuMigrationStatus = (typeof QEMU_MIGRATION_STATUSES)[number];

const count = z.number().int().nonnegative();
/** The parts of `query-migrate`'s MigrationInfo we read; the rest is ignored. */
const migrationInfoSchema = z.object({
  status: z.enum(QEMU_MIGRATION_STATUSES).optional(),
  ram: z
    .object({
      transferred: count,
      remaining: count,
      total: count,
      "dirty-sync-count": count.optional(),
    })
    .loose()
    .optional(),
  "cpu-throttle-percentage": count.optional(),
  downtime: count.optional(),
  "total-time": count.optional(),
  "error-desc": z.string().optional(),
});

/** Where a migration stands, as the launcher reports it (and the operator copies into the CR's status). */
export interface MigrationProgressView {
  status: QemuMigrationStatus;
  transferredBytes?: number;
  remainingBytes?: number;
  totalBytes?: number;
  iterations?: number;
  throttlePercent?: number;
  /** QEMU's measured guest downtime at switch-over (completed only). */
  downtimeMilliseconds?: number;
  totalTimeMilliseconds?: number;
  error?: string;
}

/** Reads a `query-migrate` reply; an unknown shape throws (QEMU is trusted, but not blindly). */
export function progressOf(reply: unknown): MigrationProgressView {
  const info = migrationInfoSchema.parse(reply);
  const view: MigrationProgressView = { status: info.status ?? "none" };
  if (info.ram) {
    view.transferredBytes = info.ram.transferred;
    view.remainingBytes = info.ram.remaining;
    view.totalBytes = info.ram.total;
    if (info.ram["dirty-sync-count"] !== undefined) view.iterations = info.ram["dirty-sync-count"];
  }
  if (info["cpu-throttle-percentage"] !== undefined) view.throttlePercent = info["cpu-throttle-percentage"];
  if (info.downtime !== undefined) view.downtimeMilliseconds = info.downtime;
  if (info["total-time"] !== undefined) view.totalTimeMilliseconds = info["total-time"];
  if (info["error-desc"] !== undefined) view.error = info["error-desc"];
  return view;
}

/** How a migration ended, from the source's side. */
export type SourceOutcome =
  | { result: "Succeeded" }
  | { result: "Cancelled" }
  | { result: "Failed"; reason: "MIGRATION_TIMEOUT" | "MIGRATION_FAILED"; message: string };

/** What the source loop knows at one poll. */
export interface SourceView {
  progress: MigrationProgressView;
  elapsedMs: number;
  deadlineMs: number;
  /** Someone (the operator, via the control socket) asked to cancel. */
  cancelRequested: boolean;
  /** We already sent `migrate_cancel`. */
  cancelSent: boolean;
  /** ... and sent it because the deadline passed. */
  timedOut: boolean;
}

/** The next step of the source loop. */
export type SourceStep =
  { kind: "poll" } | { kind: "cancel"; timedOut: boolean } | { kind: "done"; outcome: SourceOutcome };

/**
 * Decides the source's next step. A final QEMU status ends the loop (a cancel we sent for the deadline reads
 * as Failed/MIGRATION_TIMEOUT, not Cancelled); a cancel request or a passed deadline cancels once, then the
 * loop polls until QEMU reports the end.
 */
export function decideSource(v: SourceView): SourceStep {
  const s = v.progress.status;
  if (s === "completed") return { kind: "done", outcome: { result: "Succeeded" } };
  if (s === "cancelled")
    return {
      kind: "done",
      outcome: v.timedOut
        ? { result: "Failed", reason: "MIGRATION_TIMEOUT", message: timeoutMessage(v) }
        : { result: "Cancelled" },
    };
  if (s === "failed")
    return {
      kind: "done",
      outcome: { result: "Failed", reason: "MIGRATION_FAILED", message: v.progress.error ?? "QEMU: failed" },
    };
  if (s === "cancelling" || v.cancelSent) return { kind: "poll" };
  if (v.cancelRequested) return { kind: "cancel", timedOut: false };
  if (v.elapsedMs >= v.deadlineMs) return { kind: "cancel", timedOut: true };
  return { kind: "poll" };
}

function timeoutMessage(v: SourceView): string {
  const left = v.progress.remainingBytes === undefined ? "" : `, ${v.progress.remainingBytes} bytes left`;
  return `not completed within ${Math.round(v.deadlineMs / 1000)} s${left}`;
}
