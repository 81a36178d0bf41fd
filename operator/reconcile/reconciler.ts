/**
 * The outer half of reconcile: load the VM and what belongs to it from the caches, let `decide` choose, carry
 * out its actions, write status only when it changed, then record events and metrics.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { VmStatus } from "../../crds/api/status.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import { claimNamesOf, splitKey, type Caches, type CachedVm } from "../kube/caches.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { KubeResources, VmRef } from "../kube/resources.ts";
import { canonicalJson } from "../pod/spec-hash.ts";
import type { Clock } from "../../lib/clock.ts";
import type { OperatorMetrics } from "../runtime/metrics.ts";
import { stateClaimName } from "../../crds/contract/index.ts";
import { decide } from "./decide/decide.ts";
import type { Action, ClaimState, Decision, Observed } from "./decide/inputs.ts";
import type { AgentObservation } from "./decide/guest-agent.ts";
import { claimState, stateClaimState } from "./claim-state.ts";
import { podView } from "./pod-view.ts";
import { expandWithFacts, hasProfiles, type ProfileFacts } from "../instancetype/facts.ts";
import type { ProfileResolver } from "../instancetype/resolver.ts";
import type { DataVolume } from "../../crds/api/datavolume.ts";
import { dataVolumeNamesOf, type DataVolumeFacts } from "../datavolume/vm-disks.ts";
import {
  nextCreateFailure,
  statusWithCreateFailure,
  type CreateFailure,
  type CreateRefusal,
} from "./create-failure.ts";

/** What a reconcile asks of the queue. */
export interface ReconcileOutcome {
  /** Look again after this long. */
  requeueAfterMs?: number;
  /** Retrying cannot help; the reason is reported in status. */
  terminal?: string;
}

/** Dependencies of {@link Reconciler}. */
export interface ReconcilerDeps {
  caches: Caches;
  resources: KubeResources;
  events: EventRecorder;
  metrics: OperatorMetrics;
  clock: Clock;
  settings: Pick<Observed, "pod" | "crashLoop">;
  /** Resolves and pins instancetypes and preferences; without it a VM naming one is InvalidSpec. */
  profiles?: ProfileResolver;
  /** DataVolumes (operator/datavolume): what decide knows of the VM's, and creating its templates'. */
  dataVolumes?: {
    facts(namespace: string, name: string): DataVolumeFacts;
    create(dv: DataVolume): Promise<unknown>;
  };
  /** The guest agent reports of running launchers (operator/agent/reader.ts). */
  agent?: { get(key: string): AgentObservation | undefined };
}

/**
 * How an action went: done, the VM is gone, the cache lags behind the API, or the pod was not created
 * (another owner holds the name, or the API server refused it) and will be tried again with back-off.
 */
type Step = "ok" | "vm-gone" | "cache-behind" | CreateRefusal;

/** How long to wait for the caches to catch up after the API said a pod already exists or is gone. */
const CACHE_LAG_REQUEUE_MS = 1_000;

/** A status this operator wrote, remembered until the VM cache has caught up with it. */
interface WrittenStatus {
  uid: string;
  resourceVersion: string;
  status: VmStatus;
}

/** resourceVersions are opaque, but etcd-backed servers hand out increasing integers; compare when they are. */
function newer(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) > BigInt(b);
}

/** How long to wait for an instancetype or preference a VM names that does not exist (yet). */
const MISSING_PROFILE_REQUEUE_MS = 10_000;

/**
 * The expanded spec goes into status (what the VM runs with); a reference to an object not there yet is
 * looked at again rather than terminal, as the object may be applied after the VM.
 */
function withProfiles(decision: Decision, vm: CachedVm, profiles: ProfileFacts): void {
  if (!profiles.ok && profiles.missing && decision.terminal) {
    delete decision.terminal;
    decision.requeueAfterMs = MISSING_PROFILE_REQUEUE_MS;
  }
  const expanded = expandWithFacts(vm, profiles);
  if (decision.status && expanded.ok)
    decision.status = { ...decision.status, expandedSpec: expanded.vm.spec as Record<string, unknown> };
}

/** Reconciles one VM key at a time (the queue guarantees one in flight per key). */
export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** Read-your-writes for status: a reconcile right after our own write must not act on the older copy. */
  readonly #written = new Map<string, WrittenStatus>();
  /** When a start was asked for (VM created, pod created for a restart), for start latency. */
  readonly #startMarks = new Map<string, number>();
  /** Refused pod creates by VM key: told in status, tried again with back-off (create-failure.ts). */
  readonly #createFailures = new Map<string, CreateFailure>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  /** Notes that the VM `key` was just created: its start latency counts from now. */
  markStart(key: string): void {
    if (!this.#startMarks.has(key)) this.#startMarks.set(key, this.#d.clock.now());
  }

  #load(key: string): CachedVm | undefined {
    const vm = this.#d.caches.vm(key);
    const mine = this.#written.get(key);
    if (!vm || !mine) return vm;
    if (mine.uid === vm.metadata.uid && newer(mine.resourceVersion, vm.metadata.resourceVersion))
      return { ...vm, status: mine.status };
    this.#written.delete(key);
    return vm;
  }

  #forget(key: string): void {
    this.#written.delete(key);
    this.#startMarks.delete(key);
    this.#createFailures.delete(key);
  }

  /** Reconciles the VM `key`; throws on errors worth retrying. */
  async reconcile(key: string, log: Logger): Promise<ReconcileOutcome> {
    const vm = this.#load(key);
    if (!vm) {
      this.#forget(key);
      return {};
    }
    const [namespace, name] = splitKey(key);
    const uid = vm.metadata.uid ?? "";
    const ref: VmRef = { namespace, name, uid };
    const profiles = await this.#profiles(vm, ref, log);
    const decision = decide(vm, this.#observed(key, vm, ref, profiles));
    const generation = vm.metadata.generation ?? 0;
    const failure = this.#pendingFailure(key, namespace, generation);

    for (const action of decision.actions) {
      // While a refused create waits out its back-off, the VM's own updates (our status writes) do not retry it.
      const waiting = action.kind === "createPod" && failure && failure.retryAt > this.#d.clock.now();
      const done = waiting ? failure! : await this.#act(ref, action, log);
      if (done === "vm-gone") {
        this.#forget(key);
        return {};
      }
      if (done === "cache-behind") return { requeueAfterMs: CACHE_LAG_REQUEUE_MS };
      if (typeof done === "object") return this.#refused(key, ref, vm, decision, done, !waiting, log);
      if (action.kind === "createPod") this.#createFailures.delete(key);
    }

    if (profiles) withProfiles(decision, vm, profiles);
    const stop = await this.#writeStatus(key, ref, vm.status as VmStatus | undefined, decision.status, log);
    if (stop) return stop;
    for (const e of decision.events) this.#d.events.record(ref, e);
    return {
      ...(decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {}),
      ...(decision.terminal ? { terminal: decision.terminal } : {}),
    };
  }

  /**
   * The refused create the VM still waits on: none once the spec changed (a fix is tried at once) or the
   * cached pod that held the name is gone.
   */
  #pendingFailure(key: string, namespace: string, generation: number): CreateFailure | undefined {
    const failure = this.#createFailures.get(key);
    if (!failure) return undefined;
    const holder = failure.cachedHolder;
    if (failure.generation === generation && !(holder && !this.#d.caches.pod(namespace, holder)))
      return failure;
    this.#createFailures.delete(key);
    return undefined;
  }

  /**
   * The pod was not created: remember it (a fresh refusal doubles the wait), tell it in status and as a
   * Warning event, and look again when the wait is over.
   */
  async #refused(
    key: string,
    ref: VmRef,
    vm: CachedVm,
    decision: Decision,
    refusal: CreateRefusal,
    fresh: boolean,
    log: Logger,
  ): Promise<ReconcileOutcome> {
    const now = this.#d.clock.now();
    const prev = this.#createFailures.get(key);
    const failure =
      fresh || !prev ? nextCreateFailure(prev, refusal, vm.metadata.generation ?? 0, now) : prev;
    this.#createFailures.set(key, failure);
    if (fresh) {
      log.warn(
        { reason: failure.reason, attempt: failure.count, retryInMs: failure.retryAt - now },
        failure.message,
      );
      this.#d.events.record(ref, { type: "Warning", reason: failure.reason, message: failure.message });
    }
    const prevStatus = vm.status as VmStatus | undefined;
    const status = statusWithCreateFailure(decision.status, prevStatus, failure, now);
    const stop = await this.#writeStatus(key, ref, prevStatus, status, log);
    return stop ?? { requeueAfterMs: Math.max(failure.retryAt - now, 1) };
  }

  /** What the VM's instancetype and preference resolve to; undefined when it names none or is going. */
  async #profiles(vm: CachedVm, ref: VmRef, log: Logger): Promise<ProfileFacts | undefined> {
    if (vm.metadata.deletionTimestamp || !hasProfiles(vm.spec) || !this.#d.profiles) return undefined;
    try {
      return await this.#d.profiles.resolve(vm, ref, log);
    } catch (err) {
      this.#d.metrics.apiErrorsTotal.inc({ verb: "profile" });
      throw err;
    }
  }

  /** Everything besides the VM that `decide` reads, from the caches. */
  #observed(key: string, vm: CachedVm, ref: VmRef, profiles: ProfileFacts | undefined): Observed {
    const { namespace, name, uid } = ref;
    const claims: Record<string, ClaimState> = {};
    for (const c of claimNamesOf(vm.spec)) claims[c] = claimState(this.#d.caches.pvc(namespace, c));
    const startMark = this.#startMarks.get(key);
    const dataVolumes = this.#dataVolumeFacts(namespace, vm);
    const agent = this.#d.agent?.get(key);
    return {
      ...(agent ? { agent } : {}),
      ...(profiles ? { profiles } : {}),
      ...(dataVolumes ? { dataVolumes } : {}),
      now: this.#d.clock.now(),
      pods: this.#d.caches.podsOf(key, uid).map(podView),
      claims,
      stateClaim: stateClaimState(this.#d.caches.pvc(namespace, stateClaimName(name))),
      ...this.#d.settings,
      ...(startMark !== undefined ? { startRequestedAt: startMark } : {}),
    };
  }

  /**
   * Writes the decided status when it differs from the VM's, remembering it until the cache catches up; an
   * outcome when the round ends here (the VM is gone, or was re-created since the cache saw it).
   */
  async #writeStatus(
    key: string,
    ref: VmRef,
    prev: VmStatus | undefined,
    status: VmStatus | undefined,
    log: Logger,
  ): Promise<ReconcileOutcome | undefined> {
    if (!status || canonicalJson(status) === canonicalJson(prev ?? {})) return undefined;
    try {
      const res = await this.#d.resources.applyVmStatus(ref, status);
      const rv = res?.metadata?.resourceVersion;
      if (rv) this.#written.set(key, { uid: ref.uid, resourceVersion: rv, status });
    } catch (err) {
      if (isApiStatus(err, 404)) return (this.#forget(key), {});
      // 409 with force=true means the uid precondition failed: deleted or re-created since the cache saw it.
      if (isApiStatus(err, 409)) return { requeueAfterMs: CACHE_LAG_REQUEUE_MS };
      this.#d.metrics.apiErrorsTotal.inc({ verb: "status" });
      throw err;
    }
    log.debug({ printableStatus: status.printableStatus }, "status written");
    this.#observeStart(key, prev, status);
    return undefined;
  }

  /** What the DataVolume cache shows of the DataVolumes the VM names; undefined when it names none. */
  #dataVolumeFacts(namespace: string, vm: CachedVm): Record<string, DataVolumeFacts> | undefined {
    const names = dataVolumeNamesOf(vm.spec);
    if (!names.length || !this.#d.dataVolumes) return undefined;
    const facts: Record<string, DataVolumeFacts> = {};
    for (const n of names) facts[n] = this.#d.dataVolumes.facts(namespace, n);
    return facts;
  }

  #observeStart(key: string, prev: VmStatus | undefined, next: VmStatus): void {
    if (next.printableStatus !== "Running" || prev?.printableStatus === "Running") return;
    if (next.createdToRunningSeconds !== undefined)
      this.#d.metrics.startLatency.observe(next.createdToRunningSeconds);
    this.#startMarks.delete(key);
  }

  /** A write that failed in a way worth retrying: counted by verb, and told on the VM as a Warning event. */
  #failedWrite(ref: VmRef, verb: string, reason: string, message: string): void {
    this.#d.metrics.apiErrorsTotal.inc({ verb });
    this.#d.events.record(ref, { type: "Warning", reason, message });
  }

  /** Carries out one action; the API's answers that mean "look again" come back as a {@link Step}. */
  async #act(ref: VmRef, action: Action, log: Logger): Promise<Step> {
    switch (action.kind) {
      case "addFinalizer":
      case "removeFinalizer":
        return this.#finalizer(ref, action.kind === "addFinalizer", log);
      case "createPod":
        return this.#createPod(ref, action.pod, log);
      case "deletePod":
        return this.#deletePod(ref, action, log);
      case "createClaim":
        return this.#createClaim(ref, action.claim, log);
      case "deleteClaim":
        return this.#deleteClaim(ref, action, log);
      case "createDataVolume":
        return this.#createDataVolume(ref, action.dataVolume, log);
    }
  }

  async #finalizer(ref: VmRef, add: boolean, log: Logger): Promise<Step> {
    try {
      await this.#d.resources.applyFinalizer(ref, add);
    } catch (err) {
      if (isApiStatus(err, 404)) return "vm-gone";
      if (isApiStatus(err, 409)) return "cache-behind";
      this.#d.metrics.apiErrorsTotal.inc({ verb: "finalizer" });
      throw err;
    }
    log.info(add ? "finalizer added" : "finalizer removed; the VM can go");
    return add ? "ok" : "vm-gone";
  }

  async #createPod(ref: VmRef, pod: V1Pod, log: Logger): Promise<Step> {
    try {
      await this.#d.resources.createPod(pod);
    } catch (err) {
      if (isApiStatus(err, 409)) return this.#nameHeld(ref, pod.metadata?.name ?? "", log);
      // Invalid, forbidden (PodSecurity, quota, an admission policy), namespace going: the same pod will be
      // refused again, so it waits with back-off and the VM says why. 429 and 5xx are retried as errors.
      if (isApiStatus(err, 400, 403, 404, 422)) {
        this.#d.metrics.apiErrorsTotal.inc({ verb: "create" });
        return {
          reason: "FailedCreate",
          message: `the API server refused the launcher pod: ${err.serverMessage}`,
        };
      }
      this.#failedWrite(
        ref,
        "create",
        "FailedCreate",
        `could not create launcher pod: ${(err as Error).message}`,
      );
      throw err;
    }
    this.markStart(ref.namespace + "/" + ref.name);
    log.info({ pod: pod.metadata?.name }, "launcher pod created");
    return "ok";
  }

  /**
   * The pod name exists: ours not yet in the cache, or another's — a namesake's leftover, or a pod without
   * our labels (which the cache never sees, so the API is asked) squatting the name.
   */
  async #nameHeld(ref: VmRef, name: string, log: Logger): Promise<Step> {
    const cached = this.#d.caches.pod(ref.namespace, name);
    const other = cached ?? (await this.#d.resources.getPod(ref.namespace, name));
    if (!other) return "cache-behind";
    const owner = other.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
    if (owner === ref.uid) {
      log.debug({ pod: name }, "pod already exists; waiting for the cache");
      return "cache-behind";
    }
    const whose = owner ? `is controlled by another owner (uid ${owner})` : "is not controlled by this VM";
    return {
      reason: "PodNameTaken",
      message: `pod ${name} ${whose}; waiting for it to go`,
      ...(cached ? { cachedHolder: name } : {}),
    };
  }

  async #deletePod(
    ref: VmRef,
    action: { name: string; uid: string; reason: string },
    log: Logger,
  ): Promise<Step> {
    try {
      await this.#d.resources.deletePod(ref.namespace, action.name, action.uid);
    } catch (err) {
      // 404: already gone; 409: the uid precondition failed, it is another pod now.
      if (isApiStatus(err, 404, 409)) return "cache-behind";
      this.#failedWrite(
        ref,
        "delete",
        "FailedDelete",
        `could not delete pod ${action.name}: ${(err as Error).message}`,
      );
      throw err;
    }
    log.info({ pod: action.name, reason: action.reason }, "launcher pod deleted");
    return "ok";
  }

  #createClaim(ref: VmRef, pvc: V1PersistentVolumeClaim, log: Logger): Promise<Step> {
    const claim = pvc.metadata?.name ?? "";
    return this.#createOwned(ref, `state claim ${claim}`, () => this.#d.resources.createPvc(pvc), log, {
      logged: [{ pvc: claim }, "state claim created"],
      reason: "StateClaimCreated",
      message: `created PersistentVolumeClaim ${claim} for the VM's persistent state`,
    });
  }

  async #deleteClaim(ref: VmRef, action: { name: string; uid: string }, log: Logger): Promise<Step> {
    try {
      await this.#d.resources.deletePvc(ref.namespace, action.name, action.uid);
    } catch (err) {
      // 404: already gone; 409: another claim holds the name now. Either way the VM's own is gone.
      if (!isApiStatus(err, 404, 409)) {
        this.#d.metrics.apiErrorsTotal.inc({ verb: "delete" });
        throw err;
      }
    }
    log.info({ pvc: action.name }, "state claim deleted with the VM");
    return "ok";
  }

  #createDataVolume(ref: VmRef, dv: DataVolume, log: Logger): Promise<Step> {
    const name = dv.metadata.name ?? "";
    return this.#createOwned(ref, `DataVolume ${name}`, () => this.#d.dataVolumes?.create(dv), log, {
      logged: [{ dataVolume: name }, "DataVolume created from the VM's template"],
      reason: "DataVolumeCreated",
      message: `created DataVolume ${name} from the VM's dataVolumeTemplates`,
    });
  }

  /**
   * Creates an object the VM owns. 409: it exists and the cache has not shown it yet; the next reconcile
   * judges whose it is. Other failures are counted, told as FailedCreate and retried.
   */
  async #createOwned(
    ref: VmRef,
    what: string,
    create: () => Promise<unknown> | undefined,
    log: Logger,
    done: { logged: [object, string]; reason: string; message: string },
  ): Promise<Step> {
    try {
      await create();
    } catch (err) {
      if (isApiStatus(err, 409)) return "cache-behind";
      this.#failedWrite(ref, "create", "FailedCreate", `could not create ${what}: ${(err as Error).message}`);
      throw err;
    }
    log.info(...done.logged);
    this.#d.events.record(ref, { type: "Normal", reason: done.reason, message: done.message });
    return "ok";
  }
}
