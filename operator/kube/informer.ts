/**
 * An informer: client-node's ListWatch (what `makeInformer` builds) plus what it leaves to the caller.
 *
 * How client-node 1.3's ListWatch behaves (read from its source and covered by informer.test.ts):
 * - a watch that ends cleanly (server timeout) is re-opened from the last resourceVersion;
 * - 410 Gone, as an HTTP status or as an ERROR event, clears the resourceVersion so the next round relists,
 *   and the relist emits `delete` for objects that vanished meanwhile;
 * - any other error (connection reset, API server down, list failure) emits `error` and stops for good.
 * So this wrapper restarts after errors with a capped back-off (reset by a successful list or a watch that
 * delivers an event or ends cleanly), asks for bookmarks (fewer 410s after quiet
 * periods), strips managedFields before caching (memory at thousands of VMs), and tells when it has synced.
 */
import { ListWatch, Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock.ts";
import type { KubeClient } from "../../lib/kube/client.ts";

/** Event handlers; each gets the cached object. */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(obj: T): void;
  delete?(obj: T): void;
}

/** What {@link Informer} needs. */
export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/pods` or `/api/v1/namespaces/x/pods`. */
  path: string;
  labelSelector?: string;
  client: KubeClient;
  clock: Clock;
  log: Logger;
  /** The watch to use; tests pass a fake. Default: client-node's Watch. */
  watch?: WatchLike;
  /** Shrinks each object before it is cached (keep what the operator reads, and resourceVersion). */
  trim?: (obj: KubernetesObject) => KubernetesObject;
  /** A watch with no event or bookmark for this long is taken for half-open and restarted. */
  idleMs?: number;
}

/**
 * The API server bookmarks a quiet watch (allowWatchBookmarks) about once a minute, though gaps over 75 s
 * were seen here (one in 160 s on the test API server): nothing for five minutes means the connection is
 * half-open (a peer gone without a FIN or RST, a stalled proxy), where the watch would otherwise wait for TCP
 * keepalive (hours) with a stale cache. A restart resumes from the last resourceVersion, so a false alarm
 * costs one request.
 */
export const WATCH_IDLE_MS = 300_000;

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** Drops what the operator never reads and what costs the most memory (both are copies of the object). */
export function slim<T extends KubernetesObject>(obj: T): T {
  const meta = obj?.metadata;
  if (meta?.managedFields) delete meta.managedFields;
  if (meta?.annotations?.[LAST_APPLIED] !== undefined) delete meta.annotations[LAST_APPLIED];
  return obj;
}

/** The part of client-node's Watch that ListWatch uses. */
export type WatchLike = Pick<Watch, "watch">;

/**
 * Wraps a watch: asks for bookmarks, slims objects on the way into the cache, refuses to start once closed,
 * calls `onHealthy` when a watch proves to work (an event other than ERROR arrived, or it ended cleanly with
 * no ERROR event: the API server's timeout), and ends a watch that goes quiet for `idle.ms` (no event, no
 * bookmark) with an error, so the informer restarts it.
 */
export class SlimWatch implements WatchLike {
  #closed = false;

  constructor(
    private readonly inner: WatchLike,
    private readonly trim: (obj: KubernetesObject) => KubernetesObject = (o) => o,
    private readonly onHealthy: () => void = () => {},
    private readonly idle?: { clock: Clock; ms: number },
  ) {}

  /** Stops new watches from starting (ListWatch may open one after stop() during a slow list). */
  close(): void {
    this.#closed = true;
  }

  async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: KubernetesObject, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.#closed) return new AbortController();
    let failed = false;
    let ended = false;
    let timer: { cancel(): void } | undefined;
    const held: { controller?: AbortController } = {};
    const finish = (err: unknown) => {
      if (ended) return;
      ended = true;
      timer?.cancel();
      done(err);
    };
    const arm = () => {
      if (!this.idle || ended) return;
      const { clock, ms } = this.idle;
      timer?.cancel();
      timer = clock.setTimer(() => {
        finish(new Error(`watch of ${path}: no event or bookmark for ${ms} ms (half-open?); restarting it`));
        held.controller?.abort();
      }, ms);
    };
    arm();
    const controller = await this.inner.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      // ERROR events carry a Status, not an object of the watched kind: pass those through untouched.
      (phase, obj, w) => {
        if (ended) return;
        arm();
        if (phase === "ERROR") {
          failed = true;
          return callback(phase, obj, w);
        }
        this.onHealthy();
        callback(phase, this.trim(slim(obj as KubernetesObject)), w);
      },
      (err) => {
        if ((err === null || err === undefined) && !failed && !ended) this.onHealthy();
        finish(err);
      },
    );
    held.controller = controller;
    if (ended) controller.abort();
    return controller;
  }
}

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

/** A cache of one resource kind kept current by list+watch. */
export class Informer<T extends KubernetesObject> {
  readonly #lw: ListWatch<T>;
  readonly #opts: InformerOptions;
  readonly #watch: SlimWatch;
  #stopped = false;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #restartDelay = RESTART_MIN_MS;
  #restartTimer: { cancel(): void } | undefined;
  #relists = 0;

  constructor(options: InformerOptions) {
    this.#opts = options;
    // A watch that works ends the back-off: without this, only a relist reset it, so after a few connection
    // resets in an operator's life every later one waited the full 30 s.
    this.#watch = new SlimWatch(
      options.watch ?? new Watch(options.client.kubeConfig),
      options.trim,
      () => {
        this.#restartDelay = RESTART_MIN_MS;
      },
      { clock: options.clock, ms: options.idleMs ?? WATCH_IDLE_MS },
    );
    // ListWatch only calls watch(); SlimWatch has exactly that.
    const watch = this.#watch as unknown as Watch;
    this.#lw = new ListWatch<T>(options.path, watch, () => this.#list(), false, options.labelSelector);
    this.#lw.on("error", (err: unknown) => this.#onError(err));
  }

  async #list() {
    const list = await this.#opts.client.request<{ items: T[]; metadata?: { resourceVersion?: string } }>(
      "GET",
      this.#opts.path,
      { query: { labelSelector: this.#opts.labelSelector }, timeoutMs: 120_000 },
    );
    const trim = this.#opts.trim ?? ((o: KubernetesObject) => o);
    list.items = (list.items ?? []).map((o) => trim(slim(o)) as T);
    this.#relists++;
    this.#restartDelay = RESTART_MIN_MS;
    if (!this.#synced) {
      this.#synced = true;
      for (const f of this.#syncWaiters.splice(0)) f();
    }
    return list;
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(this.#restartDelay * 2, RESTART_MAX_MS);
    this.#opts.log.warn(
      { err, path: this.#opts.path, retryInMs: delay },
      "watch failed; restarting from the last resourceVersion",
    );
    this.#restartTimer = this.#opts.clock.setTimer(() => {
      if (!this.#stopped) this.#lw.start().catch((e: unknown) => this.#onError(e));
    }, delay);
  }

  /** Registers handlers. */
  on(handlers: InformerHandlers<T>): void {
    if (handlers.add) this.#lw.on("add", handlers.add);
    if (handlers.update) this.#lw.on("update", handlers.update);
    if (handlers.delete) this.#lw.on("delete", handlers.delete);
  }

  /** Starts listing and watching; resolves once the first list has filled the cache. */
  async start(): Promise<void> {
    this.#stopped = false;
    const synced = this.#synced ? Promise.resolve() : new Promise<void>((r) => this.#syncWaiters.push(r));
    this.#lw.start().catch((e: unknown) => this.#onError(e));
    await synced;
  }

  /** Stops watching; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#watch.close();
    await this.#lw.stop();
    for (const f of this.#syncWaiters.splice(0)) f();
  }

  /** True once the first list completed. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Completed lists (the first one plus every relist after 410 Gone or a restart). */
  get lists(): number {
    return this.#relists;
  }

  /** A cached object. */
  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  /** Cached objects, optionally in one namespace. */
  list(namespace?: string): readonly T[] {
    return this.#lw.list(namespace);
  }
}
