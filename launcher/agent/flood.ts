/**
 * How many bytes the guest may push down the agent channel: a burst, then an average rate. Over budget the
 * launcher stops reading the socket for a while, so QEMU stops draining the virtio-serial port and the
 * guest's writes block: the flood costs the guest time, not the launcher memory or CPU. Pure apart from
 * the injected clock.
 */

/** Defaults: real answers are a few KiB every poll; 1 MiB/s with a 4 MiB burst is far above that. */
export const FLOOD_DEFAULTS = { bytesPerSecond: 1024 * 1024, burstBytes: 4 * 1024 * 1024 } as const;

/** A byte budget; see the file comment. */
export class ByteBudget {
  #tokens: number;
  #last: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(
    o: { bytesPerSecond: number; burstBytes: number } = FLOOD_DEFAULTS,
    now: () => number = () => performance.now(),
  ) {
    this.#rate = o.bytesPerSecond;
    this.#burst = o.burstBytes;
    this.#now = now;
    this.#tokens = o.burstBytes;
    this.#last = now();
  }

  /**
   * Spends `bytes`; returns 0 while within budget, else how many milliseconds to stop reading so that the
   * debt is paid back at the average rate.
   */
  spend(bytes: number): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return 0;
    return Math.ceil((-this.#tokens / this.#rate) * 1000);
  }
}
