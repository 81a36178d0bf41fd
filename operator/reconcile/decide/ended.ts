/**
 * Runs that ended: one that stays ended (with the record status keeps of it), and one the strategy repeats
 * after the crash-loop back-off.
 */
import type { VmStatus } from "../../../crds/api/status.ts";
import { EXIT } from "../../../crds/contract/index.ts";
import { crashLoopDelayMs, failuresAfter } from "../backoff.ts";
import { rfc3339 } from "../../../lib/clock.ts";
import { boundMessage } from "../conditions.ts";
import type { PodView } from "../pod-view.ts";
import type { Action, Observed } from "./inputs.ts";
import { deletePod, type RunStrategy, type Situation } from "./situation.ts";

/** How a run the kubelet stopped for a failed probe is described (and recognised in a gone pod's record). */
const LIVENESS_WORDS = "liveness probe failed";

/** How the pod's run ended, in words (exit code, reason, termination message). */
function describeEnd(pod: PodView): string {
  const t = pod.termination;
  const parts = [
    t?.exitCode !== undefined ? `exit code ${t.exitCode}` : undefined,
    t?.reason,
    t?.message,
  ].filter(Boolean);
  const words = parts.length
    ? parts.join(": ")
    : `the launcher pod ${pod.phase === "Failed" ? "failed" : "ended"}`;
  // Said in every message (Failure, Events, the crash-loop's, the run record): the pod alone reads "Completed".
  return killedByProbe(pod) ? `${LIVENESS_WORDS}, the kubelet stopped the launcher (${words})` : words;
}

/** The launcher's words for a run it stopped on SIGTERM (launcher/supervisor/outcome.ts). */
const STOPPED_ON_SIGNAL = /^(powerdown|quit): |^stopped by SIG/;

/**
 * The kubelet ended the run: the launcher stopped on a SIGTERM although the pod was never deleted (every stop
 * of the operator's, and a user's pod delete, deletes it; then it is `terminating` and never reaches here).
 * That is a failed liveness (or startup) probe: with restartPolicy Never the kubelet kills the container and
 * the pod reads Succeeded when the guest obeyed the power button. KubeVirt counts it as a failure, so do we.
 */
export function killedByProbe(pod: PodView): boolean {
  return (
    pod.phase === "Succeeded" && !pod.terminating && STOPPED_ON_SIGNAL.test(pod.termination?.message ?? "")
  );
}

/** The run failed: the pod failed, or the kubelet killed it for a failed probe. */
export function runFailed(pod: PodView): boolean {
  return pod.phase === "Failed" || killedByProbe(pod);
}

/**
 * The Failure reason of a run that failed: the guest's watchdog (the launcher's exit code, or the record a
 * gone pod left, which starts with it), a failed probe, else the launcher's.
 */
export function failureReason(pod: PodView | undefined, record?: string): string {
  const watchdog =
    pod?.termination?.exitCode === EXIT.WATCHDOG || record?.startsWith(`exit code ${EXIT.WATCHDOG}:`);
  if (watchdog) return "WatchdogFired";
  const probe = pod ? killedByProbe(pod) : record?.startsWith(LIVENESS_WORDS) === true;
  return probe ? "LivenessProbeFailed" : "LauncherFailed";
}

/** What status remembers of a run that ended for good. */
function runRecord(pod: PodView): NonNullable<VmStatus["lastRun"]> {
  const why = describeEnd(pod);
  return {
    phase: runFailed(pod) ? "Failed" : "Succeeded",
    pod: pod.uid,
    ...(pod.finishedAt !== undefined ? { finishedAt: rfc3339(pod.finishedAt) } : {}),
    message: boundMessage(why, 1024),
    ...(pod.restartedAt !== undefined ? { restartedAt: pod.restartedAt } : {}),
  };
}

/** A run that failed and is not repeated: Failed, with the launcher's words, and Stalled. */
function failedRun(why: string, strategy: RunStrategy, reason: string): Situation {
  return {
    phase: "Failed",
    printable: "Failed",
    ready: { ok: false, reason: "Failed", message: why },
    failure: { reason, message: why },
    stalled: { reason, message: `${strategy}: not restarted after failure: ${why}` },
  };
}

/** A run that ended for good and whose pod is gone: the record in status says how it ended. */
export function endedRecord(last: NonNullable<VmStatus["lastRun"]>, strategy: RunStrategy): Situation {
  const why = last.message ?? `the launcher pod ${last.phase === "Failed" ? "failed" : "ended"}`;
  if (last.phase === "Succeeded")
    return {
      phase: "Succeeded",
      printable: "Stopped",
      ready: {
        ok: true,
        reason: "Succeeded",
        message: `the guest shut down (${strategy}: not restarted; its pod is gone)`,
      },
    };
  return failedRun(why, strategy, failureReason(undefined, last.message));
}

/** A run that ended and stays ended (Once, Manual, RerunOnFailure after success). */
export function ended(pod: PodView, strategy: RunStrategy): Situation {
  const why = describeEnd(pod);
  const lastRun = runRecord(pod);
  if (!runFailed(pod))
    return {
      lastRun,
      phase: "Succeeded",
      printable: "Stopped",
      // The run the strategy asked for is done, like a completed Job: as asked, so Ready.
      ready: { ok: true, reason: "Succeeded", message: `the guest shut down (${strategy}: not restarted)` },
      pod,
    };
  return { ...failedRun(why, strategy, failureReason(pod)), pod, lastRun };
}

/** An ended pod of a VM that must run again: wait out the crash-loop back-off, then replace it. */
export function restartEnded(pod: PodView, o: Observed, actions: Action[]): Situation {
  const failures = failuresAfter(pod, o.crashLoop);
  const endedAt = pod.finishedAt ?? o.now;
  const retryAt = endedAt + crashLoopDelayMs(failures, o.crashLoop);
  const why = describeEnd(pod);
  const startFailure =
    failures > 0
      ? {
          consecutiveFailCount: failures,
          retryAfterTimestamp: rfc3339(retryAt),
          lastFailureMessage: boundMessage(why, 1024),
        }
      : null;
  if (retryAt > o.now) {
    const message = `${failures} quick failure(s) in a row (last: ${why}); next start after ${rfc3339(retryAt)}`;
    return {
      phase: runFailed(pod) ? "Failed" : "Succeeded",
      printable: "CrashLoopBackOff",
      ready: { ok: false, reason: "CrashLoopBackOff", message },
      stalled: { reason: "CrashLoopBackOff", message },
      ...(runFailed(pod) ? { failure: { reason: failureReason(pod), message: why } } : {}),
      pod,
      startFailure,
      requeueAfterMs: retryAt - o.now,
    };
  }
  actions.push(deletePod(pod, `restarting after the launcher pod ended (${why})`));
  const message = `replacing the ended launcher pod (${why})`;
  // A fired watchdog or a failed probe stays visible while the VM restarts: Failure=True and a Warning Event.
  const reason = runFailed(pod) ? failureReason(pod) : "LauncherFailed";
  const told = reason !== "LauncherFailed";
  return {
    phase: "Pending",
    printable: "Starting",
    ready: { ok: false, reason: "Starting", message },
    reconciling: { reason: "Restarting", message },
    ...(told ? { failure: { reason, message: why } } : {}),
    pod,
    startFailure,
  };
}
