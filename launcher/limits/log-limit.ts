/**
 * Rate-limited logging for what the guest can make happen as often as it likes (DHCP packets, QMP events,
 * QEMU's stderr): each kind of message has its own token bucket; what exceeds it is counted, not written,
 * and the next message of that kind that gets through says how many were suppressed. So a flood costs a
 * counter increment per event and a bounded number of log lines per second, whatever the guest sends.
 */
import { TokenBucket } from "./token-bucket.ts";

/** The pino methods the limiter calls. */
export interface LimitedLogTarget {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Settings of {@link LogLimiter}. */
export interface LogLimitOptions {
  /** Lines per second per kind, on average (default 10). */
  perSecond?: number;
  /** Lines at once per kind (default 20). */
  burst?: number;
  /** Most kinds tracked at once (default 64); further kinds share one bucket. */
  maxKinds?: number;
  now?: () => number;
}

interface Kind {
  bucket: TokenBucket;
  suppressed: number;
}

/** Logs through `target`, at most a bounded rate per kind of message. */
export class LogLimiter {
  readonly #target: LimitedLogTarget;
  readonly #kinds = new Map<string, Kind>();
  readonly #opts: Required<Omit<LogLimitOptions, "now">> & { now?: () => number };
  #suppressedTotal = 0;

  constructor(target: LimitedLogTarget, options: LogLimitOptions = {}) {
    this.#target = target;
    this.#opts = {
      perSecond: options.perSecond ?? 10,
      burst: options.burst ?? 20,
      maxKinds: options.maxKinds ?? 64,
      ...(options.now ? { now: options.now } : {}),
    };
  }

  /** Lines suppressed so far, over all kinds. */
  get suppressed(): number {
    return this.#suppressedTotal;
  }

  /**
   * Logs `msg` at `level` unless lines of `kind` exceed their rate; returns whether it was written. The
   * kind is ours (a fixed string), never text the guest chose, so the guest cannot mint new buckets.
   */
  log(level: keyof LimitedLogTarget, kind: string, obj: object, msg: string): boolean {
    const k = this.#kind(kind);
    if (!k.bucket.take()) {
      k.suppressed += 1;
      this.#suppressedTotal += 1;
      return false;
    }
    const extra = k.suppressed ? { suppressed: k.suppressed } : {};
    k.suppressed = 0;
    this.#target[level]({ ...obj, ...extra }, msg);
    return true;
  }

  #kind(kind: string): Kind {
    const key = this.#kinds.has(kind) || this.#kinds.size < this.#opts.maxKinds ? kind : "(other)";
    let k = this.#kinds.get(key);
    if (!k) {
      k = { bucket: new TokenBucket(this.#opts.perSecond, this.#opts.burst, this.#opts.now), suppressed: 0 };
      this.#kinds.set(key, k);
    }
    return k;
  }
}
