/**
 * The controller: a work queue of VM keys and the workers that reconcile them, and the one place that maps a
 * reconcile's outcome to the queue and to metrics (controller-runtime's reconcileHandler). Requeue-after
 * forgets the key's failures and looks again later; an error retries with rate-limited back-off; a terminal
 * outcome (the VM needs a fix) is not retried — the next change to the VM wakes it.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { WorkQueue } from "./queue/work-queue.ts";
import type { ReconcileOutcome } from "./reconcile/reconciler.ts";
import type { Clock } from "../lib/clock.ts";
import type { OperatorMetrics, ReconcileResult } from "./runtime/metrics.ts";

/** What the queue does with a key after one reconcile. */
export interface Verdict {
  /** The `result` label of the reconcile metrics. */
  result: ReconcileResult;
  /** Forget the key's failures (it succeeded) and, when set, look again after this long. */
  requeueAfterMs?: number;
  /** Retry with the key's rate-limited back-off. */
  retry: boolean;
}

/** Maps a reconcile's outcome (or the error it threw) to what the queue does. Pure. */
export function verdictOf(outcome: { ok: ReconcileOutcome } | { error: unknown }): Verdict {
  if (!("ok" in outcome)) return { result: "error", retry: true };
  const out = outcome.ok;
  if (out.requeueAfterMs !== undefined)
    return { result: "requeue", requeueAfterMs: out.requeueAfterMs, retry: false };
  return { result: out.terminal ? "terminal" : "success", retry: false };
}

/** Dependencies of {@link Controller}. */
export interface ControllerOptions {
  /** Reconciles one key; throws on errors worth retrying. */
  reconcile(key: string, log: Logger): Promise<ReconcileOutcome>;
  workers: number;
  retryBaseMs: number;
  retryMaxMs: number;
  clock: Clock;
  log: Logger;
  metrics: Pick<OperatorMetrics, "reconcileTotal" | "reconcileDuration" | "queueDepth" | "retriesTotal">;
}

/** A queue and its workers while this instance leads; nothing runs before {@link Controller.start}. */
export class Controller {
  readonly #o: ControllerOptions;
  #queue: WorkQueue<string> | undefined;
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.#o = options;
  }

  /** True between start and stop. */
  get running(): boolean {
    return this.#queue !== undefined;
  }

  /** Concurrent reconciles. */
  get workers(): number {
    return this.#o.workers;
  }

  /** Keys waiting (0 while stopped). */
  get depth(): number {
    return this.#queue?.length ?? 0;
  }

  /** Asks for `key` to be reconciled; ignored while stopped (start enqueues every VM anyway). */
  add(key: string): void {
    this.#queue?.add(key);
  }

  /** Starts the workers on a fresh queue holding `keys`. */
  start(keys: Iterable<string>): void {
    if (this.#queue) return;
    const { clock, retryBaseMs, retryMaxMs, metrics } = this.#o;
    const q = new WorkQueue<string>({
      clock,
      retryBaseMs,
      retryMaxMs,
      hooks: { onDepth: (d) => metrics.queueDepth.set(d), onRetry: () => metrics.retriesTotal.inc() },
    });
    this.#queue = q;
    for (const key of keys) q.add(key);
    this.#workers = Array.from({ length: this.#o.workers }, () => this.#work(q));
  }

  /** Stops handing out keys and resolves once the in-flight reconciles have finished. */
  async stop(): Promise<void> {
    const q = this.#queue;
    if (!q) return;
    this.#queue = undefined;
    q.shutDown();
    await Promise.all(this.#workers);
    this.#workers = [];
    this.#o.metrics.queueDepth.set(0);
  }

  async #work(q: WorkQueue<string>): Promise<void> {
    for (let key = await q.get(); key !== undefined; key = await q.get()) await this.#handle(q, key);
  }

  /** One key: reconcile it, apply the verdict to the queue, count it. */
  async #handle(q: WorkQueue<string>, key: string): Promise<void> {
    const started = performance.now();
    const log = this.#o.log.child({ reconcileId: randomBytes(4).toString("hex"), vm: key });
    let verdict: Verdict;
    try {
      const out = await this.#o.reconcile(key, log);
      verdict = verdictOf({ ok: out });
      if (out.terminal) log.info({ reason: out.terminal }, "not retrying: the VM needs a fix");
    } catch (err) {
      verdict = verdictOf({ error: err });
      log.warn({ err, retries: q.retries(key) }, "reconcile failed; retrying with back-off");
    }
    if (verdict.retry) q.addRateLimited(key);
    else {
      q.forget(key);
      if (verdict.requeueAfterMs !== undefined) q.addAfter(key, verdict.requeueAfterMs);
    }
    q.done(key);
    const seconds = (performance.now() - started) / 1000;
    this.#o.metrics.reconcileTotal.inc({ result: verdict.result });
    this.#o.metrics.reconcileDuration.observe({ result: verdict.result }, seconds);
  }
}
