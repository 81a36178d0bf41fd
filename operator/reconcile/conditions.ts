/** metav1.Condition bookkeeping: keep lastTransitionTime unless the status flips. */
import type { Condition } from "../../crds/api/status.ts";
import { rfc3339 } from "../../lib/clock.ts";

/** Condition messages are bounded by the API (32 KiB); termination messages and logs can be longer. */
export function boundMessage(message: string, max = 4096): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}

/** A condition without its bookkeeping fields. */
export interface ConditionInput {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/**
 * Full conditions from their desired values: each keeps its previous lastTransitionTime when its status did not
 * change, and records the generation it was computed for.
 */
export function buildConditions(
  wanted: readonly ConditionInput[],
  previous: readonly Condition[] | undefined,
  now: number,
  generation: number,
): Condition[] {
  return wanted.map((w) => {
    const prev = previous?.find((p) => p.type === w.type);
    return {
      type: w.type,
      status: w.status,
      reason: w.reason,
      message: boundMessage(w.message),
      lastTransitionTime: prev && prev.status === w.status ? prev.lastTransitionTime : rfc3339(now),
      observedGeneration: generation,
    };
  });
}
