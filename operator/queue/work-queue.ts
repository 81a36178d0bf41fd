/**
 * A level-triggered work queue with client-go's semantics: a key is queued at most once however often it is
 * added, a key being processed is never handed out twice (an add during processing re-queues it when done),
 * delayed adds keep the earliest deadline, and failures back off per key.
 *
 * Written here because no maintained npm package offers these semantics (p-queue and friends queue jobs, not
 * deduplicated keys, and know nothing of "dirty while processing").
 */
import type { Clock, TimerHandle } from "../../lib/clock.ts";
import { ExponentialRateLimiter } from "./rate-limiter.ts";

/** Hooks for metrics. */
export interface WorkQueueHooks {
  /** Called whenever the number of queued keys changes. */
  onDepth?(depth: number): void;
  /** Called for each rate-limited retry. */
  onRetry?(): void;
}

/** Options for {@link WorkQueue}. */
export interface WorkQueueOptions {
  clock: Clock;
  /** First retry delay and cap for {@link WorkQueue.addRateLimited}. */
  retryBaseMs: number;
  retryMaxMs: number;
  hooks?: WorkQueueHooks;
}

/** A deduplicating, rate-limited queue of keys (`namespace/name`). */
export class WorkQueue<K = string> {
  #queue: K[] = [];
  #head = 0;
  #dirty = new Set<K>();
  #processing = new Set<K>();
  #waiters: ((k: K | undefined) => void)[] = [];
  #timers = new Map<K, { at: number; handle: TimerHandle }>();
  #shuttingDown = false;
  #idle: (() => void)[] = [];
  readonly #clock: Clock;
  readonly #limiter: ExponentialRateLimiter<K>;
  readonly #hooks: WorkQueueHooks;

  constructor(options: WorkQueueOptions) {
    this.#clock = options.clock;
    this.#limiter = new ExponentialRateLimiter(options.retryBaseMs, options.retryMaxMs);
    this.#hooks = options.hooks ?? {};
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Keys handed out and not yet done. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** True once {@link shutDown} was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `key` unless it is already queued; a key in processing is queued again when done. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#hooks.onDepth?.(this.length);
  }

  /** Queues `key` after `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    existing?.handle.cancel();
    const handle = this.#clock.setTimer(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, handle });
  }

  /** Queues `key` after its per-key exponential back-off. */
  addRateLimited(key: K): void {
    this.#hooks.onRetry?.();
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Clears `key`'s failure count (after a success or a terminal error). */
  forget(key: K): void {
    this.#limiter.forget(key);
  }

  /** Failed attempts of `key` since it last succeeded. */
  retries(key: K): number {
    return this.#limiter.retries(key);
  }

  /** The next key to process, waiting for one; undefined once the queue shuts down. */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.length > 0) {
      const key = this.#queue[this.#head++] as K;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#hooks.onDepth?.(this.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it goes back in the queue. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
    if (this.#processing.size === 0) for (const f of this.#idle.splice(0)) f();
  }

  /** Stops handing out keys (queued ones are dropped): waiting `get()`s resolve to undefined, timers go. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const t of this.#timers.values()) t.handle.cancel();
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }

  /** Resolves when no key is being processed. */
  drained(): Promise<void> {
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
