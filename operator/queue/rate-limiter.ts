/** Per-key exponential back-off for failed reconciles, as client-go's ItemExponentialFailureRateLimiter. */
export class ExponentialRateLimiter<K> {
  #failures = new Map<K, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Delay before the next retry of `key`, counting this failure. */
  when(key: K): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** Math.min(n, 40), this.maxMs);
  }

  /** Failures recorded for `key` since the last {@link forget}. */
  retries(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The key succeeded (or gave up): start over next time. */
  forget(key: K): void {
    this.#failures.delete(key);
  }
}
