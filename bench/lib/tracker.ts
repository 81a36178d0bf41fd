/**
 * What the bench sees of VMs and launcher pods through its watches: when each VM got its pod and its
 * status, and how many live pods each VM has at every moment (a duplicate is any moment with two). Pure:
 * events and times come in, figures come out.
 */

/** The parts of a watched object the tracker reads. */
export interface WatchedObject {
  metadata?: {
    name?: string;
    uid?: string;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
  };
  status?: { launcherPod?: string } & Record<string, unknown>;
}

/** A watch event type. */
export type WatchType = "ADDED" | "MODIFIED" | "DELETED" | string;

/** Per-VM times in ms (the caller's clock). */
interface VmTimes {
  sentAt?: number;
  podAt?: number;
  statusAt?: number;
}

/** Tracks convergence and pod counts. */
export class Tracker {
  readonly #vms = new Map<string, VmTimes>();
  /** VM uid → names of its live pods. */
  readonly #podsByVm = new Map<string, Set<string>>();
  #maxPodsPerVm = 0;
  #duplicates: { vmUid: string; pods: string[]; at: number }[] = [];
  #podEvents = 0;
  #vmEvents = 0;
  /** Names of VMs that exist (seen and not deleted). */
  readonly #liveVms = new Set<string>();

  /** The bench sent the create request for VM `name` at `at`. */
  sent(name: string, at: number): void {
    this.#entry(name).sentAt = at;
  }

  #entry(name: string): VmTimes {
    let e = this.#vms.get(name);
    if (!e) this.#vms.set(name, (e = {}));
    return e;
  }

  /** A VM watch event. */
  vmEvent(type: WatchType, vm: WatchedObject, at: number): void {
    this.#vmEvents++;
    const name = vm.metadata?.name;
    if (!name) return;
    if (type === "DELETED") return void this.#liveVms.delete(name);
    this.#liveVms.add(name);
    const e = this.#entry(name);
    if (e.statusAt === undefined && vm.status?.launcherPod) e.statusAt = at;
  }

  /** A launcher-pod watch event. */
  podEvent(type: WatchType, pod: WatchedObject, at: number): void {
    this.#podEvents++;
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    const podName = pod.metadata?.name;
    if (!owner?.uid || !owner.name || !podName) return;
    let set = this.#podsByVm.get(owner.uid);
    if (!set) this.#podsByVm.set(owner.uid, (set = new Set()));
    if (type === "DELETED") {
      set.delete(podName);
      if (set.size === 0) this.#podsByVm.delete(owner.uid);
      return;
    }
    set.add(podName);
    const e = this.#entry(owner.name);
    if (e.podAt === undefined) e.podAt = at;
    this.#maxPodsPerVm = Math.max(this.#maxPodsPerVm, set.size);
    if (set.size > 1 && this.#duplicates.length < 100)
      this.#duplicates.push({ vmUid: owner.uid, pods: [...set], at });
  }

  /** VMs (of those sent) that have both a pod and a status naming it. */
  converged(): number {
    let n = 0;
    for (const e of this.#vms.values())
      if (e.sentAt !== undefined && e.podAt !== undefined && e.statusAt !== undefined) n++;
    return n;
  }

  /** Per-VM latency, send → pod and status both seen, in ms, for the converged VMs. */
  latencies(): number[] {
    const out: number[] = [];
    for (const e of this.#vms.values())
      if (e.sentAt !== undefined && e.podAt !== undefined && e.statusAt !== undefined)
        out.push(Math.max(e.podAt, e.statusAt) - e.sentAt);
    return out;
  }

  /** When the last VM converged (ms), or undefined while some have not. */
  lastConvergedAt(): number | undefined {
    let last = 0;
    for (const e of this.#vms.values()) {
      if (e.sentAt === undefined) continue;
      if (e.podAt === undefined || e.statusAt === undefined) return undefined;
      last = Math.max(last, e.podAt, e.statusAt);
    }
    return last;
  }

  /** Live pods right now, by VM uid. */
  livePods(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#podsByVm;
  }

  /** VMs that exist as far as the watch has told (the bench waits on this instead of listing). */
  get liveVms(): number {
    return this.#liveVms.size;
  }

  /** Launcher pods that exist as far as the watch has told. */
  get livePodCount(): number {
    let n = 0;
    for (const set of this.#podsByVm.values()) n += set.size;
    return n;
  }

  /** The most live pods any VM had at one moment. */
  get maxPodsPerVm(): number {
    return this.#maxPodsPerVm;
  }

  /** Moments a VM had more than one live pod (first 100). */
  get duplicates(): readonly { vmUid: string; pods: string[]; at: number }[] {
    return this.#duplicates;
  }

  /** Events seen, for the report. */
  get events(): { vms: number; pods: number } {
    return { vms: this.#vmEvents, pods: this.#podEvents };
  }
}
