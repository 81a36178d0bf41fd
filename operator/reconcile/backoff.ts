/** Crash-loop back-off for launcher pods that end soon after they start. */

/** Back-off settings, from the operator config. */
export interface CrashLoopSettings {
  /** First delay. */
  baseSeconds: number;
  /** Cap. */
  maxSeconds: number;
  /** A pod that ran shorter than this counts as a start failure. */
  minRunSeconds: number;
}

/** Delay before the next start after `failures` consecutive quick failures: base × 2^(n−1), capped. */
export function crashLoopDelayMs(failures: number, s: CrashLoopSettings): number {
  if (failures <= 0) return 0;
  return Math.min(s.baseSeconds * 2 ** Math.min(failures - 1, 30), s.maxSeconds) * 1000;
}

/**
 * Consecutive quick failures including this ended pod: one more than before it when it ran shorter than
 * `minRunSeconds` (or never ran), zero when it ran long enough to count as a healthy run.
 */
export function failuresAfter(
  pod: { startFailures: number; startedAt?: number; finishedAt?: number },
  s: CrashLoopSettings,
): number {
  const ran =
    pod.startedAt !== undefined && pod.finishedAt !== undefined ? pod.finishedAt - pod.startedAt : 0;
  return ran < s.minRunSeconds * 1000 ? pod.startFailures + 1 : 0;
}
