/**
 * The inner, pure half of reconcile: from a VM and what the caches show, the actions to take and the status
 * to report. No I/O, no clock (time is an input), so every runStrategy rule is a table test.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { RUN_STRATEGIES } from "../../crds/api/spec.ts";
import {
  vmStatusSchema,
  type PHASES,
  type PRINTABLE_STATUSES,
  type VmStatus,
} from "../../crds/api/status.ts";
import { validateVirtualMachine } from "../../crds/api/validate.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import type { ClaimFacts } from "../../crds/launcher/from-vm.ts";
import { deriveMac } from "../../crds/launcher/mac.ts";
import { ANNOTATION_RESTARTED_AT, FINALIZER, PAUSED_ANNOTATION, stateClaimName } from "../names.ts";
import { buildLauncherPod, type PodInputs } from "../pod/build.ts";
import { hasGuestProbes } from "../pod/probes.ts";
import { launcherSpecHash } from "../pod/spec-hash.ts";
import { buildStateClaim, needsStateClaim } from "../pod/state-claim.ts";
import { crashLoopDelayMs, failuresAfter, type CrashLoopSettings } from "./backoff.ts";
import { boundMessage, buildConditions, rfc3339, type ConditionInput } from "./conditions.ts";
import type { PodView } from "./pod-view.ts";

/** A VM as the informer holds it: not yet validated. */
export interface RawVm {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: unknown;
    deletionTimestamp?: unknown;
    annotations?: Record<string, string>;
    finalizers?: string[];
    [k: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
}

/** What a PVC lookup found. */
export type ClaimState = { found: false } | ({ found: true; phase?: string } & ClaimFacts);

/** What the PVC cache shows under the VM's state-claim name (`vireo-state-<vm>`). */
export type StateClaimState =
  { found: false } | { found: true; uid: string; ownerUid?: string; phase?: string; terminating: boolean };

/** Everything besides the VM that the decision depends on. */
export interface Observed {
  /** Milliseconds since the epoch. */
  now: number;
  /** Pods controlled by this VM (owner reference with the VM's uid). */
  pods: PodView[];
  /** The VM's claims by name, as far as the PVC cache knows them. */
  claims: Record<string, ClaimState>;
  /** The claim under the VM's state-claim name, whether or not the spec asks for one (undefined: none). */
  stateClaim?: StateClaimState;
  /** Cluster settings for the pod. */
  pod: Omit<PodInputs, "claims" | "startFailures">;
  /** Crash-loop back-off settings. */
  crashLoop: CrashLoopSettings;
  /** When the operator saw this start being asked for (VM created, pod created), for start latency. */
  startRequestedAt?: number;
}

/** A side effect for the outer reconciler to carry out, in order. */
export type Action =
  | { kind: "addFinalizer" }
  | { kind: "removeFinalizer" }
  | { kind: "createPod"; pod: V1Pod }
  | { kind: "deletePod"; name: string; uid: string; reason: string }
  | { kind: "createClaim"; claim: V1PersistentVolumeClaim }
  | { kind: "deleteClaim"; name: string; uid: string };

/** A Kubernetes Event about the VM. */
export interface VmEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** The outcome of one decision. */
export interface Decision {
  actions: Action[];
  /** The complete status to report; undefined when the VM is about to disappear. */
  status?: VmStatus;
  /** Events to record once the actions and the status write have succeeded. */
  events: VmEvent[];
  /** Look again after this long even if nothing changes (back-off expiry). */
  requeueAfterMs?: number;
  /** Set when retrying cannot help (invalid spec): the reason, for logs and metrics. */
  terminal?: string;
}

type Phase = (typeof PHASES)[number];
type Printable = (typeof PRINTABLE_STATUSES)[number];
type RunStrategy = (typeof RUN_STRATEGIES)[number];
type Reason = { reason: string; message: string };

/**
 * Where the VM stands, before it is rendered into status. `ready` is the `Ready` condition: the VM is as its spec
 * asks (running with a ready guest, stopped as asked, paused by the user); `guest` is `GuestReady`, the guest
 * itself running and passing its readiness (default: not running, for the situations without a live guest).
 */
interface Situation {
  phase: Phase;
  printable: Printable;
  ready: { ok: boolean } & Reason;
  guest?: { ok: boolean } & Reason;
  reconciling?: Reason;
  stalled?: Reason;
  failure?: Reason;
  /** The user paused the guest and its launcher runs: Paused=True. */
  paused?: Reason;
  restartRequired?: string;
  /** The pod the status describes (node, IPs), if any. */
  pod?: PodView;
  /** Name of a pod created by this decision. */
  createdPod?: string;
  /** undefined: keep the previous value; null: clear. */
  startFailure?: VmStatus["startFailure"] | null;
  /** The run that ended for good; undefined: keep the previous record; null: clear. */
  lastRun?: VmStatus["lastRun"] | null;
  requeueAfterMs?: number;
}

const WARNING_STATUSES: ReadonlySet<Printable> = new Set([
  "CrashLoopBackOff",
  "ErrorUnschedulable",
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrorPvcNotFound",
  "Failed",
  "InvalidSpec",
  "NodeUnreachable",
  "Unknown",
]);

/** Reads the status the VM carries, tolerating one this operator version cannot parse. */
function previousStatus(raw: RawVm): VmStatus {
  const r = vmStatusSchema.safeParse(raw.status ?? {});
  return r.success ? r.data : {};
}

/** Decides what to do about one VM. Pure: same inputs, same decision. */
export function decide(raw: RawVm, observed: Observed): Decision {
  const prev = previousStatus(raw);
  const meta = raw.metadata;
  const hasFinalizer = meta.finalizers?.includes(FINALIZER) ?? false;
  const alive = observed.pods.filter((p) => !p.terminating);

  if (meta.deletionTimestamp) {
    if (observed.pods.length === 0) {
      // The state claim goes with the VM, deleted here rather than left to a garbage collector: once the
      // finalizer is gone the VM is too, and nothing would look at the claim again.
      const own = ownStateClaim(meta, observed);
      const actions: Action[] =
        own && !own.terminating ? [{ kind: "deleteClaim", name: own.name, uid: own.uid }] : [];
      if (hasFinalizer) actions.push({ kind: "removeFinalizer" });
      return { actions, events: [] };
    }
    const actions: Action[] = alive.map((p) => deletePod(p, "the VM is being deleted"));
    const s: Situation = {
      phase: phaseOfPod(observed.pods[0]!),
      printable: "Terminating",
      ready: { ok: false, reason: "Terminating", message: "the VM is being deleted" },
      reconciling: { reason: "Terminating", message: "waiting for the launcher pod to stop" },
      pod: observed.pods[0]!,
    };
    return finish(raw, prev, observed, s, actions, undefined);
  }

  const actions: Action[] = hasFinalizer ? [] : [{ kind: "addFinalizer" }];
  const validation = validateVirtualMachine({ ...raw, status: undefined });
  if (!validation.ok) {
    const message = validation.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
    const halted = (raw.spec as { runStrategy?: string } | undefined)?.runStrategy === "Halted";
    if (halted) actions.push(...alive.map((p) => deletePod(p, "runStrategy is Halted")));
    const pod = observed.pods[0];
    const s: Situation = {
      phase: pod ? phaseOfPod(pod) : "Stopped",
      printable: "InvalidSpec",
      ready: { ok: false, reason: "InvalidSpec", message },
      stalled: { reason: "InvalidSpec", message },
      failure: { reason: "InvalidSpec", message },
      ...(pod ? { pod } : {}),
    };
    return { ...finish(raw, prev, observed, s, actions, undefined), terminal: "InvalidSpec" };
  }
  const vm = validation.vm;
  const situation = decideValid(vm, prev, observed, actions);
  return finish(raw, prev, observed, situation, actions, vm);
}

function deletePod(p: PodView, reason: string): Action {
  return { kind: "deletePod", name: p.name, uid: p.uid, reason };
}

function phaseOfPod(p: PodView): Phase {
  if (p.phase === "Running" || p.phase === "Succeeded" || p.phase === "Failed" || p.phase === "Unknown")
    return p.phase;
  return p.nodeName ? "Scheduled" : "Scheduling";
}

function finished(p: PodView): boolean {
  return p.phase === "Succeeded" || p.phase === "Failed";
}

/** The VM's PVC claim names. */
export function claimNamesOf(spec: unknown): string[] {
  const volumes = (spec as { volumes?: { persistentVolumeClaim?: { claimName?: unknown } }[] })?.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.flatMap((v) =>
    typeof v?.persistentVolumeClaim?.claimName === "string" ? [v.persistentVolumeClaim.claimName] : [],
  );
}

function decideValid(vm: VirtualMachine, prev: VmStatus, o: Observed, actions: Action[]): Situation {
  const s = decideRunStrategy(vm, prev, o, actions);
  // Whatever the strategy asked for (run, stop, restart), a pod on a node that stopped answering can neither
  // be seen running nor be confirmed gone: say so instead of Starting or Stopping forever.
  return s.pod?.nodeLost && !finished(s.pod) ? nodeUnreachable(s.pod, s) : s;
}

/** A pod whose node stopped answering; the situation it would otherwise be in keeps its other parts. */
function nodeUnreachable(pod: PodView, s: Situation): Situation {
  const node = pod.nodeName ?? "(unknown)";
  const what =
    pod.nodeLost === "Evicted" || pod.terminating
      ? `the launcher pod is being deleted (${pod.nodeLost === "Evicted" ? "evicted by the taint manager" : s.printable}) but only that node can confirm QEMU is gone`
      : "the node lifecycle controller marked the launcher pod not ready";
  const message =
    `node ${node} is not responding: ${what}. The VM starts elsewhere only once the pod is gone: when the ` +
    `node comes back, is deleted, or is tainted node.kubernetes.io/out-of-service — never while its disks may ` +
    `still be open there`;
  return {
    ...s,
    phase: phaseOfPod(pod),
    printable: "NodeUnreachable",
    ready: { ok: false, reason: "NodeUnreachable", message },
    guest: { ok: false, reason: "NodeUnreachable", message },
    stalled: { reason: "NodeUnreachable", message },
    reconciling: undefined,
    paused: undefined,
  };
}

function decideRunStrategy(vm: VirtualMachine, prev: VmStatus, o: Observed, actions: Action[]): Situation {
  const strategy: RunStrategy = vm.spec.runStrategy;
  const restartRequest = vm.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  // The newest pod is the VM's; older ones (only possible if names changed between versions) go.
  const pods = [...o.pods].sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  const pod = pods[0];
  for (const extra of pods.slice(1))
    if (!extra.terminating) actions.push(deletePod(extra, "a VM has one launcher pod"));

  if (pod?.terminating) return stopping(pod, "waiting for the launcher pod to stop");
  if (strategy === "Halted") {
    if (!pod) return stopped("Halted", "runStrategy is Halted");
    actions.push(deletePod(pod, "runStrategy is Halted"));
    return stopping(pod, "stopping: runStrategy is Halted");
  }
  if (pod && restartRequest !== undefined && restartRequest !== pod.restartedAt) {
    actions.push(deletePod(pod, `restart requested at ${restartRequest}`));
    return stopping(pod, `restarting: requested at ${restartRequest}`);
  }
  if (pod && finished(pod)) {
    const restart = strategy === "Always" || (strategy === "RerunOnFailure" && pod.phase === "Failed");
    if (!restart) return ended(pod, strategy);
    return restartEnded(pod, o, actions);
  }
  if (pod) return podSituation(vm, pod, o);

  // The ended pod of a run that is not repeated is gone (drained, deleted by hand, garbage-collected): the run
  // still happened. Only a restart request newer than that run starts another.
  const last = prev.lastRun;
  const newRequest = restartRequest !== undefined && restartRequest !== last?.restartedAt;
  if (last && (strategy === "Once" || strategy === "RerunOnFailure") && !newRequest)
    return endedRecord(last, strategy);

  const wantsStart =
    strategy === "Always" ||
    strategy === "RerunOnFailure" ||
    strategy === "Once" ||
    (strategy === "Manual" && restartRequest !== undefined && restartRequest !== prev.restartedAt);
  if (!wantsStart) return stopped("Stopped", "runStrategy is Manual: start it with a restart request");
  return startPod(vm, prev, o, actions);
}

/** Stopped as the spec asks (Halted, Manual): as asked, so Ready. */
function stopped(reason: string, message: string): Situation {
  return {
    phase: "Stopped",
    printable: "Stopped",
    ready: { ok: true, reason, message },
    startFailure: null,
    // Halted (or Manual without a start request) ends any record: the next start is a new run.
    lastRun: null,
  };
}

function stopping(pod: PodView, message: string): Situation {
  return {
    phase: phaseOfPod(pod),
    printable: "Stopping",
    ready: { ok: false, reason: "Stopping", message },
    reconciling: { reason: "Stopping", message },
    pod,
  };
}

function describeEnd(pod: PodView): string {
  const t = pod.termination;
  const parts = [
    t?.exitCode !== undefined ? `exit code ${t.exitCode}` : undefined,
    t?.reason,
    t?.message,
  ].filter(Boolean);
  return parts.length ? parts.join(": ") : `the launcher pod ${pod.phase === "Failed" ? "failed" : "ended"}`;
}

/** What status remembers of a run that ended for good. */
function runRecord(pod: PodView): NonNullable<VmStatus["lastRun"]> {
  const why = describeEnd(pod);
  return {
    phase: pod.phase === "Succeeded" ? "Succeeded" : "Failed",
    pod: pod.uid,
    ...(pod.finishedAt !== undefined ? { finishedAt: rfc3339(pod.finishedAt) } : {}),
    message: boundMessage(why, 1024),
    ...(pod.restartedAt !== undefined ? { restartedAt: pod.restartedAt } : {}),
  };
}

/** A run that ended for good and whose pod is gone: the record in status says how it ended. */
function endedRecord(last: NonNullable<VmStatus["lastRun"]>, strategy: RunStrategy): Situation {
  const why = last.message ?? `the launcher pod ${last.phase === "Failed" ? "failed" : "ended"}`;
  if (last.phase === "Succeeded")
    return {
      phase: "Succeeded",
      printable: "Stopped",
      ready: {
        ok: true,
        reason: "Succeeded",
        message: `the guest shut down (${strategy}: not restarted; its pod is gone)`,
      },
    };
  return {
    phase: "Failed",
    printable: "Failed",
    ready: { ok: false, reason: "Failed", message: why },
    failure: { reason: "LauncherFailed", message: why },
    stalled: { reason: "LauncherFailed", message: `${strategy}: not restarted after failure: ${why}` },
  };
}

/** A run that ended and stays ended (Once, Manual, RerunOnFailure after success). */
function ended(pod: PodView, strategy: RunStrategy): Situation {
  const why = describeEnd(pod);
  const lastRun = runRecord(pod);
  if (pod.phase === "Succeeded")
    return {
      lastRun,
      phase: "Succeeded",
      printable: "Stopped",
      // The run the strategy asked for is done, like a completed Job: as asked, so Ready.
      ready: { ok: true, reason: "Succeeded", message: `the guest shut down (${strategy}: not restarted)` },
      pod,
    };
  return {
    phase: "Failed",
    printable: "Failed",
    ready: { ok: false, reason: "Failed", message: why },
    failure: { reason: "LauncherFailed", message: why },
    stalled: { reason: "LauncherFailed", message: `${strategy}: not restarted after failure: ${why}` },
    pod,
    lastRun,
  };
}

/** An ended pod of a VM that must run again: wait out the crash-loop back-off, then replace it. */
function restartEnded(pod: PodView, o: Observed, actions: Action[]): Situation {
  const failures = failuresAfter(pod, o.crashLoop);
  const endedAt = pod.finishedAt ?? o.now;
  const retryAt = endedAt + crashLoopDelayMs(failures, o.crashLoop);
  const why = describeEnd(pod);
  const startFailure =
    failures > 0
      ? {
          consecutiveFailCount: failures,
          retryAfterTimestamp: rfc3339(retryAt),
          lastFailureMessage: boundMessage(why, 1024),
        }
      : null;
  if (retryAt > o.now) {
    const message = `${failures} quick failure(s) in a row (last: ${why}); next start after ${rfc3339(retryAt)}`;
    return {
      phase: pod.phase === "Failed" ? "Failed" : "Succeeded",
      printable: "CrashLoopBackOff",
      ready: { ok: false, reason: "CrashLoopBackOff", message },
      stalled: { reason: "CrashLoopBackOff", message },
      ...(pod.phase === "Failed" ? { failure: { reason: "LauncherFailed", message: why } } : {}),
      pod,
      startFailure,
      requeueAfterMs: retryAt - o.now,
    };
  }
  actions.push(deletePod(pod, `restarting after the launcher pod ended (${why})`));
  const message = `replacing the ended launcher pod (${why})`;
  return {
    phase: "Pending",
    printable: "Starting",
    ready: { ok: false, reason: "Starting", message },
    reconciling: { reason: "Restarting", message },
    pod,
    startFailure,
  };
}

/** The claim under the VM's state-claim name if this VM controls it. */
function ownStateClaim(
  meta: RawVm["metadata"],
  o: Observed,
): { name: string; uid: string; terminating: boolean } | undefined {
  const c = o.stateClaim;
  if (!c?.found || !meta.uid || c.ownerUid !== meta.uid) return undefined;
  return { name: stateClaimName(meta.name ?? ""), uid: c.uid, terminating: c.terminating };
}

/**
 * Before the first pod of a VM with a state claim: create the claim, and start only once the cache shows it
 * (so the pod never names a claim that does not exist). A claim of that name controlled by something else —
 * a namesake VM deleted without the operator, a user's PVC — is never used: its variables are not this VM's.
 */
function stateClaimBlocker(vm: VirtualMachine, o: Observed, actions: Action[]): Situation | undefined {
  if (!needsStateClaim(vm)) return undefined;
  const name = stateClaimName(vm.metadata.name ?? "");
  const c = o.stateClaim;
  const waiting = (message: string): Situation => ({
    phase: "Stopped",
    printable: "WaitingForVolumeBinding",
    ready: { ok: false, reason: "WaitingForStateClaim", message },
    reconciling: { reason: "WaitingForStateClaim", message },
  });
  if (!c?.found) {
    actions.push({ kind: "createClaim", claim: buildStateClaim(vm) });
    return waiting(`creating the state claim ${name} (persistent UEFI variables)`);
  }
  if (c.ownerUid !== vm.metadata.uid) {
    const message = `PersistentVolumeClaim ${name} exists but is not this VM's state claim (it is controlled by ${c.ownerUid ?? "nobody"}); delete it to let the operator create the VM's own`;
    return {
      phase: "Stopped",
      printable: "ErrorPvcNotFound",
      ready: { ok: false, reason: "StateClaimNotOwned", message },
      stalled: { reason: "StateClaimNotOwned", message },
      failure: { reason: "StateClaimNotOwned", message },
    };
  }
  if (c.terminating) return waiting(`the state claim ${name} is being deleted; a new one follows`);
  return undefined;
}

function missingClaims(vm: VirtualMachine, o: Observed): string[] {
  return claimNamesOf(vm.spec).filter((c) => o.claims[c]?.found !== true);
}

function startPod(vm: VirtualMachine, prev: VmStatus, o: Observed, actions: Action[]): Situation {
  const retryAt = prev.startFailure?.retryAfterTimestamp
    ? Date.parse(prev.startFailure.retryAfterTimestamp)
    : undefined;
  if (retryAt !== undefined && retryAt > o.now) {
    const message = `waiting for the crash-loop back-off until ${prev.startFailure?.retryAfterTimestamp}`;
    return {
      phase: "Stopped",
      printable: "CrashLoopBackOff",
      ready: { ok: false, reason: "CrashLoopBackOff", message },
      stalled: { reason: "CrashLoopBackOff", message },
      requeueAfterMs: retryAt - o.now,
    };
  }
  const missing = missingClaims(vm, o);
  if (missing.length) {
    const message = `PersistentVolumeClaim${missing.length > 1 ? "s" : ""} not found: ${missing.join(", ")}`;
    return {
      phase: "Stopped",
      printable: "ErrorPvcNotFound",
      ready: { ok: false, reason: "PvcNotFound", message },
      stalled: { reason: "PvcNotFound", message },
      failure: { reason: "PvcNotFound", message },
    };
  }
  const blocked = stateClaimBlocker(vm, o, actions);
  if (blocked) return blocked;
  const claims: Record<string, ClaimFacts> = {};
  for (const [name, c] of Object.entries(o.claims))
    if (c.found)
      claims[name] = {
        volumeMode: c.volumeMode,
        ...(c.capacityBytes !== undefined ? { capacityBytes: c.capacityBytes } : {}),
      };
  const pod = buildLauncherPod(vm, {
    ...o.pod,
    claims,
    startFailures: prev.startFailure?.consecutiveFailCount ?? 0,
  });
  actions.push({ kind: "createPod", pod });
  // Report what the next reconcile will see (an unscheduled pending pod), so the pod's arrival in the cache
  // needs no second status write.
  return { ...pendingSituation(vm, o, { initialized: true }), createdPod: pod.metadata?.name ?? "" };
}

/** A pending pod's situation: waiting for volumes, scheduling, init containers, or the launcher. */
function pendingSituation(
  vm: VirtualMachine,
  o: Observed,
  pod: { nodeName?: string; initialized: boolean },
): Situation {
  const pendingClaims = claimNamesOf(vm.spec).filter((c) => {
    const claim = o.claims[c];
    return claim?.found === true && claim.phase === "Pending";
  });
  // The state claim's binding is waited for like the disks': with a WaitForFirstConsumer class it binds only
  // once the pod that mounts it is scheduled, so the pod is created and the status says what it waits for.
  const state = o.stateClaim;
  if (needsStateClaim(vm) && state?.found && state.phase !== "Bound")
    pendingClaims.push(stateClaimName(vm.metadata.name ?? ""));
  const [printable, message]: [Printable, string] = pendingClaims.length
    ? ["WaitingForVolumeBinding", `waiting for PersistentVolumeClaims to bind: ${pendingClaims.join(", ")}`]
    : !pod.nodeName
      ? ["Starting", "waiting for the launcher pod to be scheduled"]
      : !pod.initialized
        ? ["Provisioning", "preparing the pod: network setup and disk copies"]
        : ["Starting", "the launcher pod is starting"];
  return {
    phase: pod.nodeName ? "Scheduled" : "Scheduling",
    printable,
    ready: { ok: false, reason: printable, message },
    reconciling: { reason: printable, message },
  };
}

const IMAGE_PULL = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]);

/** A live (not ended, not terminating) pod. */
function podSituation(vm: VirtualMachine, pod: PodView, o: Observed): Situation {
  const restartRequired =
    pod.specHash !== undefined && pod.specHash !== launcherSpecHash(vm.spec)
      ? "the spec changed since the launcher pod was created; restart the VM to apply it"
      : undefined;
  const base = { pod, ...(restartRequired ? { restartRequired } : {}) };
  if (pod.phase === "Running" && pausedPod(vm.metadata.annotations) === pod.uid) {
    // A paused guest fails its readiness probe by design; the user's request, not the probe, is the truth.
    const message = "the guest is paused (vireo pause); resume it with vireo unpause";
    return {
      ...base,
      phase: "Running",
      printable: "Paused",
      // Paused by the user's request: as asked, so Ready; the guest itself is not (GuestReady=False).
      ready: { ok: true, reason: "Paused", message },
      guest: { ok: false, reason: "Paused", message },
      paused: { reason: "PausedByUser", message },
      startFailure: null,
    };
  }
  if (pod.phase === "Running") {
    const launcherReady = hasGuestProbes(vm.spec) ? pod.launcherStarted : pod.ready;
    if (launcherReady) {
      const ready = pod.ready
        ? { ok: true, reason: "Ready", message: "the guest is running and ready" }
        : { ok: false, reason: "GuestNotReady", message: "the guest readiness probe has not passed" };
      return { ...base, phase: "Running", printable: "Running", ready, guest: ready, startFailure: null };
    }
    const message = "the launcher is starting the guest";
    return {
      ...base,
      phase: "Running",
      printable: "Starting",
      ready: { ok: false, reason: "Starting", message },
      reconciling: { reason: "Starting", message },
    };
  }
  if (pod.phase === "Unknown") {
    const message = "the launcher pod's state is unknown (node unreachable?)";
    return {
      ...base,
      phase: "Unknown",
      printable: "Unknown",
      ready: { ok: false, reason: "PodUnknown", message },
      reconciling: { reason: "PodUnknown", message },
    };
  }
  // Pending.
  if (pod.unschedulable)
    return pendingError(base, "Scheduling", "ErrorUnschedulable", "Unschedulable", pod.unschedulable);
  if (pod.waiting) {
    const w = pod.waiting;
    const printable: Printable = IMAGE_PULL.has(w.reason)
      ? w.reason === "ErrImagePull"
        ? "ErrImagePull"
        : "ImagePullBackOff"
      : "Failed";
    return pendingError(base, phaseOfPod(pod), printable, w.reason, w.message ?? w.reason);
  }
  return { ...base, ...pendingSituation(vm, o, pod) };
}

function pendingError(
  base: Pick<Situation, "pod" | "restartRequired">,
  phase: Phase,
  printable: Printable,
  reason: string,
  message: string,
): Situation {
  const r = { reason: reason.replace(/[^A-Za-z0-9_]/g, "") || "Error", message };
  return { ...base, phase, printable, ready: { ok: false, ...r }, stalled: r, failure: r };
}

/** Renders the situation into status and events. */
function finish(
  raw: RawVm,
  prev: VmStatus,
  o: Observed,
  s: Situation,
  actions: Action[],
  vm: VirtualMachine | undefined,
): Decision {
  const generation = raw.metadata.generation ?? 0;
  const guest = s.guest ?? notRunning(s);
  const wanted: ConditionInput[] = [
    {
      type: "Ready",
      status: s.ready.ok ? "True" : "False",
      reason: s.ready.reason,
      message: s.ready.message,
    },
    {
      type: "GuestReady",
      status: guest.ok ? "True" : "False",
      reason: guest.reason,
      message: guest.message,
    },
  ];
  wanted.push(pausedCondition(raw, s));
  if (s.failure) wanted.push({ type: "Failure", status: "True", ...s.failure });
  if (s.restartRequired)
    wanted.push({
      type: "RestartRequired",
      status: "True",
      reason: "SpecChanged",
      message: s.restartRequired,
    });
  if (s.reconciling) wanted.push({ type: "Reconciling", status: "True", ...s.reconciling });
  if (s.stalled) wanted.push({ type: "Stalled", status: "True", ...s.stalled });
  const conditions = buildConditions(wanted, prev.conditions, o.now, generation);

  const created = actions.some((a) => a.kind === "createPod");
  const startFailure = s.startFailure === null ? undefined : (s.startFailure ?? prev.startFailure);
  // A new pod is a new run: the record of the last one goes.
  const lastRun = created || s.lastRun === null ? undefined : (s.lastRun ?? prev.lastRun);
  const restartCount = created
    ? prev.restartCount === undefined
      ? 0
      : prev.restartCount + 1
    : prev.restartCount;
  const restartRequest = raw.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  const restartedAt = created ? restartRequest : (s.pod?.restartedAt ?? prev.restartedAt);
  const interfaces = vm ? interfacesOf(vm, s.pod, o.pod.defaultBinding) : prev.interfaces;
  const ipAddress = interfaces?.[0]?.ips?.[0];
  const launcherPod = s.createdPod ?? s.pod?.name;
  const status: VmStatus = {
    phase: s.phase,
    printableStatus: s.printable,
    conditions,
    observedGeneration: generation,
    ...(s.pod?.nodeName && !created ? { nodeName: s.pod.nodeName } : {}),
    ...(launcherPod ? { launcherPod } : {}),
    ...(interfaces?.length ? { interfaces } : {}),
    ...(ipAddress ? { ipAddress } : {}),
    ready: guest.ok,
    ...(restartCount !== undefined ? { restartCount } : {}),
    ...(restartedAt !== undefined ? { restartedAt } : {}),
    ...(startFailure ? { startFailure } : {}),
    ...(lastRun ? { lastRun } : {}),
    ...startLatency(raw, prev, o, s),
  };
  return {
    actions,
    status,
    events: [...eventsFor(prev, status, s, actions), ...(created && vm ? startWarnings(vm, o) : [])],
    ...(s.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(1, Math.ceil(s.requeueAfterMs)) } : {}),
  };
}

/** GuestReady for the situations without a live guest: the VM's own reason when it is on its way. */
function notRunning(s: Situation): { ok: false } & Reason {
  if (!s.ready.ok) return { ok: false, reason: s.ready.reason, message: s.ready.message };
  return { ok: false, reason: "NotRunning", message: `no guest runs: ${s.ready.message}` };
}

/** The uid of the launcher pod a pause mark was made for, if the VM carries one. */
function pausedPod(annotations: Record<string, string> | undefined): string | undefined {
  const mark = annotations?.[PAUSED_ANNOTATION];
  return mark ? mark : undefined;
}

/** Paused is always reported, True only while a user's pause holds on the launcher pod it was made for. */
function pausedCondition(raw: RawVm, s: Pick<Situation, "paused" | "pod">): ConditionInput {
  if (s.paused) return { type: "Paused", status: "True", ...s.paused };
  const mark = pausedPod(raw.metadata.annotations);
  if (mark === undefined)
    return { type: "Paused", status: "False", reason: "NotPaused", message: "the guest is not paused" };
  const live = s.pod && !s.pod.terminating && s.pod.phase === "Running" ? s.pod : undefined;
  if (live && mark === live.uid)
    return {
      type: "Paused",
      status: "Unknown",
      reason: "NodeUnreachable",
      message: "the guest was paused, but its node is not responding",
    };
  return live
    ? {
        type: "Paused",
        status: "False",
        reason: "StaleMark",
        message: `the pause recorded on the VM was for launcher pod ${mark}, not for the running ${live.uid}`,
      }
    : {
        type: "Paused",
        status: "False",
        reason: "NotRunning",
        message: "a pause is recorded on the VM but its launcher is not running",
      };
}

/**
 * Warnings about a start that goes ahead. microvm under emulation is warned about, not refused: it boots most of
 * the time, and with emulation allowed the launcher still uses KVM where the node has it; but under TCG on a
 * busy host the guest kernel can stall calibrating its clock (microvm has no HPET or ACPI PM timer).
 */
function startWarnings(vm: VirtualMachine, o: Observed): VmEvent[] {
  if (!o.pod.emulation || vm.spec.machine.type !== "microvm") return [];
  return [
    {
      type: "Warning",
      reason: "MicrovmUnderEmulation",
      message:
        "machine type microvm with emulation (TCG) allowed: without KVM the guest kernel can stall at boot " +
        "calibrating its clock on a busy host (microvm has no HPET or ACPI PM timer); q35 is safer",
    },
  ];
}

function startLatency(raw: RawVm, prev: VmStatus, o: Observed, s: Situation): Partial<VmStatus> {
  if (s.printable !== "Running" || prev.printableStatus === "Running")
    return prev.createdToRunningSeconds !== undefined
      ? { createdToRunningSeconds: prev.createdToRunningSeconds }
      : {};
  const created = raw.metadata.creationTimestamp;
  const createdMs = typeof created === "string" ? Date.parse(created) : undefined;
  const from = o.startRequestedAt ?? (prev.restartCount ? s.pod?.createdAt : createdMs) ?? s.pod?.createdAt;
  if (from === undefined || Number.isNaN(from)) return {};
  return { createdToRunningSeconds: Math.max(0, Math.round(o.now - from) / 1000) };
}

/**
 * Guest NICs with what the guest has. masquerade and passt give the guest the spec's MAC (or the derived one, as
 * the launcher does). bridge on the pod network and every Multus NIC hand the guest the pod interface's own MAC
 * (the network knows the pod's address at it), which only Multus' network-status annotation tells: reported
 * from there, and left out when unknown rather than guessed. IPs: the pod's on the pod-network NIC, the
 * attachment's on a Multus NIC, while the launcher runs.
 */
function interfacesOf(
  vm: VirtualMachine,
  pod: PodView | undefined,
  defaultBinding: Observed["pod"]["defaultBinding"],
): VmStatus["interfaces"] {
  const networks = new Map(vm.spec.networks.map((n) => [n.name, n]));
  const ns = vm.metadata.namespace ?? "default";
  const name = vm.metadata.name ?? "";
  const live = pod && !pod.terminating && pod.phase === "Running" ? pod : undefined;
  const qualify = (n: string) => (n.includes("/") ? n : `${ns}/${n}`);
  return vm.spec.interfaces.map((i) => {
    const net = networks.get(i.name);
    const own = (i.macAddress ?? deriveMac(ns, name, i.name)).toLowerCase();
    if (net?.multus) {
      const wanted = qualify(net.multus.networkName);
      const entry = live?.networkStatus?.find((e) => !e.default && qualify(e.name) === wanted);
      return {
        name: i.name,
        ...(entry?.mac ? { mac: entry.mac.toLowerCase() } : {}),
        ...(entry?.ips?.length ? { ips: [...entry.ips] } : {}),
        ...(entry?.interface ? { podInterface: entry.interface } : {}),
      };
    }
    const binding = i.binding ?? defaultBinding;
    const podMac = live?.networkStatus?.find((e) => e.default)?.mac;
    const mac = binding === "bridge" ? podMac?.toLowerCase() : own;
    return {
      name: i.name,
      ...(mac ? { mac } : {}),
      ...(net?.pod && live?.podIPs.length ? { ips: [...live.podIPs], podInterface: "eth0" } : {}),
    };
  });
}

function eventsFor(prev: VmStatus, next: VmStatus, s: Situation, actions: Action[]): VmEvent[] {
  const events: VmEvent[] = [];
  for (const a of actions) {
    if (a.kind === "createPod")
      events.push({
        type: "Normal",
        reason: "SuccessfulCreate",
        message: `created launcher pod ${a.pod.metadata?.name}`,
      });
    if (a.kind === "deletePod")
      events.push({
        type: "Normal",
        reason: "SuccessfulDelete",
        message: `deleted pod ${a.name}: ${a.reason}`,
      });
  }
  const prevFailure = prev.conditions?.find((c) => c.type === "Failure" && c.status === "True");
  const warn = WARNING_STATUSES.has(s.printable);
  // A pod created or deleted explains the move to Starting or Stopping; one event says it.
  const explained = !warn && events.length > 0;
  if (next.printableStatus !== prev.printableStatus && !explained) {
    events.push({
      type: warn ? "Warning" : "Normal",
      reason: s.printable,
      message: (warn && s.failure ? s.failure.message : undefined) ?? s.stalled?.message ?? s.ready.message,
    });
  } else if (s.failure && prevFailure?.message !== boundMessage(s.failure.message)) {
    events.push({ type: "Warning", reason: s.failure.reason, message: s.failure.message });
  }
  const hadRestartRequired = prev.conditions?.some(
    (c) => c.type === "RestartRequired" && c.status === "True",
  );
  if (s.restartRequired && !hadRestartRequired)
    events.push({ type: "Normal", reason: "RestartRequired", message: s.restartRequired });
  return events;
}
