/**
 * Records core/v1 Events about VMs without slowing reconciles: events go to a bounded backlog written by a few
 * background senders. A burst beyond the backlog is dropped and counted, never allowed to stall the operator;
 * an identical warning repeated within a few minutes (a retried error) is recorded once.
 */
import { randomBytes } from "node:crypto";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { COMPONENT, VM_TYPE } from "../../crds/contract/index.ts";
import { rfc3339, type Clock } from "../../lib/clock.ts";
import type { KubeResources, VmRef } from "./resources.ts";

/** A Kubernetes Event about a VM, before the recorder gives it names and timestamps. */
export interface VmEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** Options for {@link EventRecorder}. */
export interface EventRecorderOptions {
  resources: KubeResources;
  identity: string;
  clock: Clock;
  log: Logger;
  onDropped(): void;
  maxBacklog?: number;
  senders?: number;
  /** Identical warnings within this window are recorded once. */
  dedupMs?: number;
}

/** Fire-and-forget Event writer. */
export class EventRecorder {
  readonly #o: Required<EventRecorderOptions>;
  #backlog: CoreV1Event[] = [];
  #active = 0;
  #recent = new Map<string, number>();
  #idle: (() => void)[] = [];

  constructor(options: EventRecorderOptions) {
    this.#o = { maxBacklog: 2000, senders: 4, dedupMs: 5 * 60_000, ...options };
  }

  /** Queues an event about `vm` (or, with `type`, another object of ours: a DataVolume). */
  record(vm: VmRef & { type?: { apiVersion: string; kind: string } }, event: VmEvent): void {
    const now = this.#o.clock.now();
    if (event.type === "Warning") {
      const key = `${vm.uid}\0${event.reason}\0${event.message}`;
      const last = this.#recent.get(key);
      if (last !== undefined && now - last < this.#o.dedupMs) return;
      this.#recent.set(key, now);
      if (this.#recent.size > 10_000) this.#prune(now);
    }
    if (this.#backlog.length >= this.#o.maxBacklog) {
      this.#o.onDropped();
      return;
    }
    const ts = rfc3339(now) as unknown as Date;
    this.#backlog.push({
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${vm.name}.${now.toString(16)}${randomBytes(4).toString("hex")}`,
        namespace: vm.namespace,
      },
      involvedObject: { ...(vm.type ?? VM_TYPE), name: vm.name, namespace: vm.namespace, uid: vm.uid },
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.#o.identity,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    });
    this.#pump();
  }

  #prune(now: number): void {
    for (const [k, t] of this.#recent) if (now - t >= this.#o.dedupMs) this.#recent.delete(k);
  }

  #pump(): void {
    while (this.#active < this.#o.senders && this.#backlog.length) {
      const ev = this.#backlog.shift()!;
      this.#active++;
      this.#o.resources
        .createEvent(ev)
        .catch((err: unknown) => {
          this.#o.onDropped();
          this.#o.log.debug({ err, reason: ev.reason }, "could not record event");
        })
        .finally(() => {
          this.#active--;
          this.#pump();
          if (this.#active === 0 && this.#backlog.length === 0) for (const f of this.#idle.splice(0)) f();
        });
    }
  }

  /** Resolves when the backlog is written, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.#active === 0 && this.#backlog.length === 0) return;
    await Promise.race([new Promise<void>((r) => this.#idle.push(r)), this.#o.clock.sleep(timeoutMs)]);
  }
}
