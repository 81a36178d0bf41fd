/**
 * A launcher pod the API server will not create (refused as invalid or forbidden, or its name held by a pod
 * that is not this VM's): told in the VM's status as a Failure condition, and tried again with back-off
 * rather than every reconcile. Pure; the reconciler keeps one record per VM.
 */
import type { VmStatus } from "../../crds/api/status.ts";
import { rfc3339 } from "../../lib/clock.ts";
import { boundMessage } from "./conditions.ts";

/** First retry after a refused create, and the cap of the doubling. */
export const CREATE_RETRY_BASE_MS = 2_000;
export const CREATE_RETRY_MAX_MS = 120_000;

/** Why the pod was not created: the condition's reason and message. */
export interface CreateRefusal {
  reason: "PodNameTaken" | "FailedCreate";
  message: string;
  /** The pod holding the name, when the operator's cache shows it: its deletion ends the wait at once. */
  cachedHolder?: string;
}

/** What the reconciler remembers of a VM's refused creates. */
export interface CreateFailure extends CreateRefusal {
  /** The VM generation the refusals were for: a new spec is tried at once. */
  generation: number;
  /** Consecutive refusals. */
  count: number;
  /** No create before this time (ms). */
  retryAt: number;
}

/** The record after one more refusal at `now`: the wait doubles from the base up to the cap. */
export function nextCreateFailure(
  prev: CreateFailure | undefined,
  refusal: CreateRefusal,
  generation: number,
  now: number,
): CreateFailure {
  const count = prev && prev.generation === generation ? prev.count + 1 : 1;
  const wait = Math.min(CREATE_RETRY_BASE_MS * 2 ** Math.min(count - 1, 20), CREATE_RETRY_MAX_MS);
  return { ...refusal, generation, count, retryAt: now + wait };
}

/** Fields of status that describe a created pod: kept as they were, since no pod was created. */
const POD_FIELDS = ["restartCount", "restartedAt", "launcherPod", "lastRun", "nodeName"] as const;

/**
 * The status to write when the create was refused: the decided status (which assumed the pod would be
 * created) with the pod's fields as before and a Failure condition saying why and when it is tried again.
 */
export function statusWithCreateFailure(
  decided: VmStatus | undefined,
  prev: VmStatus | undefined,
  failure: CreateFailure,
  now: number,
): VmStatus {
  const out: VmStatus = { ...(decided ?? prev ?? {}) };
  for (const f of POD_FIELDS) {
    if (prev?.[f] === undefined) delete out[f];
    else (out as Record<string, unknown>)[f] = prev[f];
  }
  const before = prev?.conditions?.find((c) => c.type === "Failure");
  out.conditions = [
    ...(out.conditions ?? []).filter((c) => c.type !== "Failure"),
    {
      type: "Failure",
      status: "True",
      reason: failure.reason,
      // Nothing here changes while the VM waits, so a wait writes no status (each write wakes the VM again).
      message: boundMessage(
        `${failure.message} (attempt ${failure.count}; next at ${rfc3339(failure.retryAt)})`,
      ),
      lastTransitionTime:
        before?.status === "True" && before.reason === failure.reason
          ? before.lastTransitionTime
          : rfc3339(now),
      observedGeneration: failure.generation,
    },
  ];
  return out;
}
