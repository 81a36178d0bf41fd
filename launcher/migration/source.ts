/**
 * The source side over QMP: set capabilities and parameters, `migrate` to the target, poll `query-migrate`
 * until QEMU reports the end, cancel on request or at the deadline. After a failed or cancelled migration
 * the source guest runs on: QEMU restarts it if the switch-over had paused it, and this checks that it did.
 */
import { decideSource, progressOf, type MigrationProgressView, type SourceOutcome } from "./progress.ts";
import { sourcePlan, type MigrationTuning } from "./plan.ts";
import { systemClock, type Clock } from "../../lib/clock.ts";

/** The one QMP call the migration code needs (QmpClient has it). */
export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** Inputs of one outgoing migration. */
export interface SourceMigrationOptions {
  /** The target's incoming URI (plan.ts `incomingUri`). */
  uri: string;
  tuning: MigrationTuning;
  guestMemoryBytes: number;
  /** Aborting it cancels the migration (`migrate_cancel`); the source keeps running. */
  signal?: AbortSignal;
  /** Called with each poll's progress. */
  onProgress?: (p: MigrationProgressView) => void;
  pollMs?: number;
  clock?: Clock;
}

/** How an outgoing migration ended, with QEMU's last figures. */
export interface SourceMigrationResult {
  outcome: SourceOutcome;
  progress: MigrationProgressView;
  /** The source guest's run state afterwards (`postmigrate` after success, `running` otherwise). */
  runState: string;
}

/** Runs one outgoing migration to its end. Throws only when QMP itself fails. */
export async function migrateSource(
  qmp: QmpExecutor,
  o: SourceMigrationOptions,
): Promise<SourceMigrationResult> {
  const clock = o.clock ?? systemClock;
  const plan = sourcePlan(o.tuning, o.guestMemoryBytes);
  await qmp.execute("migrate-set-capabilities", { capabilities: plan.capabilities });
  await qmp.execute("migrate-set-parameters", plan.parameters);
  const wasRunning = (await runState(qmp)) === "running";
  const started = clock.now();
  await qmp.execute("migrate", { uri: o.uri });
  let cancelSent = false;
  let timedOut = false;
  for (;;) {
    const progress = progressOf(await qmp.execute("query-migrate"));
    o.onProgress?.(progress);
    const step = decideSource({
      progress,
      elapsedMs: clock.now() - started,
      deadlineMs: plan.deadlineMs,
      cancelRequested: o.signal?.aborted ?? false,
      cancelSent,
      timedOut,
    });
    if (step.kind === "done") {
      const state = await settle(qmp, step.outcome, wasRunning);
      return { outcome: step.outcome, progress, runState: state };
    }
    if (step.kind === "cancel") {
      await qmp.execute("migrate_cancel");
      cancelSent = true;
      timedOut = step.timedOut;
    }
    await clock.sleep(o.pollMs ?? 200, cancelSent ? undefined : o.signal);
  }
}

async function runState(qmp: QmpExecutor): Promise<string> {
  return (await qmp.execute<{ status: string }>("query-status")).status;
}

/** After a failure QEMU resumes a guest it paused for switch-over; if it did not, resume it here. */
async function settle(qmp: QmpExecutor, outcome: SourceOutcome, wasRunning: boolean): Promise<string> {
  const state = await runState(qmp);
  if (outcome.result === "Succeeded" || !wasRunning || state === "running") return state;
  await qmp.execute("cont");
  return runState(qmp);
}
