import { setTimeout as sleep } from "node:timers/promises";

/** Options for {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this long; default 60 s. */
  timeoutMs?: number;
  /** Pause between attempts; default 250 ms. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  description?: string;
}

/**
 * Retries `attempt` until it resolves, then returns its value; after the deadline, throws an error that
 * carries the last failure as `cause`. Tests poll for conditions with this instead of sleeping.
 */
export async function eventually<T>(attempt: () => Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  do {
    try {
      return await attempt();
    } catch (err) {
      last = err;
    }
    await sleep(options.intervalMs ?? 250);
  } while (Date.now() < deadline);
  const why = last instanceof Error ? last.message : String(last);
  throw new Error(`${options.description ?? "condition"} not met within ${timeoutMs} ms: ${why}`, {
    cause: last,
  });
}
