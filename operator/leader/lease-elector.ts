/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a lease held by someone else is
 * taken over only after it has looked unchanged for leaseDuration by *our* clock (no trust in other clocks);
 * writes are compare-and-swap on resourceVersion; a leader that cannot renew within renewDeadline stops leading
 * before anyone else may start; a leader that stops releases the lease so a standby takes over at once.
 *
 * Written here because client-node 1.3 has no leader election.
 */
import type { V1Lease, V1LeaseSpec } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isApiStatus } from "../../lib/kube/errors.ts";
import type { Clock } from "../../lib/clock.ts";

/** The Lease operations the elector needs; `update` and `create` fail with status 409 on a lost race. */
export interface LeaseStore {
  get(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  update(lease: V1Lease): Promise<V1Lease>;
}

/** Timing and identity. */
export interface ElectorOptions {
  store: LeaseStore;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  clock: Clock;
  log: Logger;
  /** Called when this instance becomes leader. */
  onStartedLeading(): void;
  /** Called when it stops leading (lost the lease, or stop()). */
  onStoppedLeading(): void;
}

/** Kubernetes MicroTime: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** What we last saw of the lease record, and when by our clock. */
export interface Observation {
  key: string;
  at: number;
}

function recordKey(spec: V1LeaseSpec | undefined): string {
  const renew = spec?.renewTime as unknown;
  return `${spec?.holderIdentity ?? ""}|${renew instanceof Date ? renew.toISOString() : String(renew ?? "")}|${spec?.leaseTransitions ?? 0}`;
}

/** Updates the observation: a changed record restarts the expiry clock. Pure. */
export function observe(
  prev: Observation | undefined,
  spec: V1LeaseSpec | undefined,
  now: number,
): Observation {
  const key = recordKey(spec);
  return prev && prev.key === key ? prev : { key, at: now };
}

/**
 * May `identity` take or renew the lease? Yes when it holds it, when nobody does, or when the holder's record
 * has not changed for a whole lease duration as observed locally. Pure.
 */
export function mayAcquire(
  spec: V1LeaseSpec | undefined,
  identity: string,
  observation: Observation,
  now: number,
  defaultDurationMs: number,
): boolean {
  const holder = spec?.holderIdentity;
  if (!holder || holder === identity) return true;
  const duration =
    spec?.leaseDurationSeconds !== undefined ? spec.leaseDurationSeconds * 1000 : defaultDurationMs;
  return observation.at + duration <= now;
}

/** Campaigns for, holds and releases one Lease. */
export class LeaseElector {
  readonly #o: ElectorOptions;
  #leading = false;
  #lastRenew = 0;
  #observation: Observation | undefined;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: ElectorOptions) {
    this.#o = options;
  }

  /** True while this instance holds the lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    const { clock, log } = this.#o;
    while (!this.#stop.signal.aborted) {
      let ok = false;
      try {
        ok = await this.#attempt();
      } catch (err) {
        log.warn({ err, lease: this.#o.name }, "lease request failed");
      }
      if (this.#stop.signal.aborted) break;
      if (ok) {
        this.#lastRenew = clock.now();
        if (!this.#leading) {
          this.#leading = true;
          log.info({ lease: this.#o.name, identity: this.#o.identity }, "became leader");
          this.#o.onStartedLeading();
        }
      } else if (this.#leading && clock.now() - this.#lastRenew >= this.#o.renewDeadlineMs) {
        this.#leading = false;
        log.error({ lease: this.#o.name }, "could not renew the lease in time; stopped leading");
        this.#o.onStoppedLeading();
      }
      await clock.sleep(this.#o.retryPeriodMs, this.#stop.signal);
    }
  }

  /**
   * One try, given up at its deadline: for a leader, renewDeadline after its last renewal. Without it a
   * renewal the API server never answers (a stalled connection) kept this instance leading past
   * renewDeadline and past leaseDuration, while a standby, seeing the record unchanged, took over: two
   * leaders. The stalled request may still land later; its answer is ignored (a late write of our own record
   * is harmless: the resourceVersion check refuses it once another holder wrote).
   */
  async #attempt(): Promise<boolean> {
    const { clock, renewDeadlineMs } = this.#o;
    const deadline = (this.#leading ? this.#lastRenew : clock.now()) + renewDeadlineMs;
    const giveUp = new AbortController();
    const late = clock
      .sleep(Math.max(0, deadline - clock.now()), giveUp.signal)
      .then(() => (giveUp.signal.aborted ? false : "late"));
    const attempt = this.#tryAcquireOrRenew();
    attempt.catch(() => undefined); // an error after the deadline has no one to hear it
    try {
      const result = await Promise.race([attempt, late]);
      if (result !== "late") return result;
      this.#o.log.warn(
        { lease: this.#o.name, deadlineMs: renewDeadlineMs },
        "lease request unanswered at its deadline",
      );
      return false;
    } finally {
      giveUp.abort();
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { store, identity, clock } = this.#o;
    const now = clock.now();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    const lease = await store.get();
    if (!lease) {
      const spec: V1LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: microTime(now) as unknown as Date,
        renewTime: microTime(now) as unknown as Date,
        leaseTransitions: 0,
      };
      try {
        await store.create({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#o.name, namespace: this.#o.namespace },
          spec,
        });
      } catch (err) {
        if (isApiStatus(err, 409)) return false;
        throw err;
      }
      this.#observation = observe(undefined, spec, now);
      return true;
    }
    this.#observation = observe(this.#observation, lease.spec, now);
    if (!mayAcquire(lease.spec, identity, this.#observation, now, this.#o.leaseDurationMs)) return false;
    const held = lease.spec?.holderIdentity === identity;
    const spec: V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: (held ? lease.spec?.acquireTime : microTime(now)) as Date,
      renewTime: microTime(now) as unknown as Date,
      leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (held ? 0 : 1),
    };
    try {
      await store.update({ ...lease, spec });
    } catch (err) {
      if (isApiStatus(err, 409)) return false;
      throw err;
    }
    this.#observation = observe(undefined, spec, now);
    return true;
  }

  /** Stops campaigning; a leader releases the lease so a standby need not wait for it to expire. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#o.store.get();
      if (lease?.spec?.holderIdentity === this.#o.identity) {
        const now = microTime(this.#o.clock.now()) as unknown as Date;
        await this.#o.store.update({
          ...lease,
          spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: now },
        });
        this.#o.log.info({ lease: this.#o.name }, "released the lease");
      }
    } catch (err) {
      this.#o.log.warn({ err, lease: this.#o.name }, "could not release the lease; it will expire");
    }
    this.#o.onStoppedLeading();
  }

  /** Simulates a crash in tests: stops campaigning without releasing or notifying. */
  abandon(): void {
    this.#stop.abort();
  }
}
