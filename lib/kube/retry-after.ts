/**
 * When to try again after a 429 (too many requests, API Priority and Fairness) or 503 (the API server is
 * starting or shedding load): what its `Retry-After` header says, as client-go does. Pure.
 */

/** Longest wait honoured for one answer: a larger (or hostile) Retry-After is capped to this. */
export const MAX_RETRY_AFTER_MS = 30_000;
/** Retries of one request on Retry-After before its error is thrown (client-go: 10). */
export const MAX_RETRY_AFTER_RETRIES = 5;

/**
 * Milliseconds to wait before retrying a request answered `status` with `header`, or undefined when the answer
 * is not one to retry: only 429 and 503 with a Retry-After of delta-seconds or an HTTP date.
 */
export function retryAfterMs(status: number, header: string | undefined, now: number): number | undefined {
  if ((status !== 429 && status !== 503) || header === undefined) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date names its weekday or month; Date.parse alone also takes "-1" or "2" as dates.
    const at = /[a-z]{3}/i.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
