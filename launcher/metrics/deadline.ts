import { MetricsDeadlineError } from "./errors.ts";

/** Settles like `work`, or rejects with a METRICS_DEADLINE error after `ms`; the timer never outlives it. */
export function withDeadline<T>(work: Promise<T>, ms: number, source: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MetricsDeadlineError("METRICS_DEADLINE", source, ms)),
      Math.max(0, ms),
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
