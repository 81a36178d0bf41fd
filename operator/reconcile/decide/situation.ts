/**
 * Where a VM stands before it is rendered into status, and the few situations every branch of the decision
 * shares (stopped, stopping, a pod on a lost node, a pending pod that failed).
 */
import type { RUN_STRATEGIES } from "../../../crds/api/spec.ts";
import type { PHASES, PRINTABLE_STATUSES, VmStatus } from "../../../crds/api/status.ts";
import { ANNOTATION_PAUSED } from "../../../crds/contract/index.ts";
import type { PodView } from "../pod-view.ts";
import type { Action } from "./inputs.ts";

/** A VM phase (status.phase). */
export type Phase = (typeof PHASES)[number];
/** A printable status (status.printableStatus). */
export type Printable = (typeof PRINTABLE_STATUSES)[number];
/** A runStrategy. */
export type RunStrategy = (typeof RUN_STRATEGIES)[number];
/** A condition's reason and message. */
export type Reason = { reason: string; message: string };

/**
 * Where the VM stands, before it is rendered into status. `ready` is the `Ready` condition: the VM is as its spec
 * asks (running with a ready guest, stopped as asked, paused by the user); `guest` is `GuestReady`, the guest
 * itself running and passing its readiness (default: not running, for the situations without a live guest).
 */
export interface Situation {
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

/** The action that deletes pod `p`, saying why. */
export function deletePod(p: PodView, reason: string): Action {
  return { kind: "deletePod", name: p.name, uid: p.uid, reason };
}

/** The VM phase a pod implies. */
export function phaseOfPod(p: PodView): Phase {
  if (p.phase === "Running" || p.phase === "Succeeded" || p.phase === "Failed" || p.phase === "Unknown")
    return p.phase;
  return p.nodeName ? "Scheduled" : "Scheduling";
}

/** True when the pod's run has ended. */
export function finished(p: PodView): boolean {
  return p.phase === "Succeeded" || p.phase === "Failed";
}

/** The uid of the launcher pod a pause mark was made for, if the VM carries one. */
export function pausedPod(annotations: Record<string, string> | undefined): string | undefined {
  const mark = annotations?.[ANNOTATION_PAUSED];
  return mark ? mark : undefined;
}

/** Stopped as the spec asks (Halted, Manual): as asked, so Ready. */
export function stopped(reason: string, message: string): Situation {
  return {
    phase: "Stopped",
    printable: "Stopped",
    ready: { ok: true, reason, message },
    startFailure: null,
    // Halted (or Manual without a start request) ends any record: the next start is a new run.
    lastRun: null,
  };
}

/** Waiting for a pod to go. */
export function stopping(pod: PodView, message: string): Situation {
  return {
    phase: phaseOfPod(pod),
    printable: "Stopping",
    ready: { ok: false, reason: "Stopping", message },
    reconciling: { reason: "Stopping", message },
    pod,
  };
}

/** A pod whose node stopped answering; the situation it would otherwise be in keeps its other parts. */
export function nodeUnreachable(pod: PodView, s: Situation): Situation {
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

/**
 * A VM that cannot go on by itself (a pod unschedulable or failing to pull, a missing claim, a foreign state
 * claim): not Ready, Stalled, with a Failure saying why.
 */
export function stuck(
  base: Pick<Situation, "pod" | "restartRequired">,
  phase: Phase,
  printable: Printable,
  reason: string,
  message: string,
): Situation {
  const r = { reason: reason.replace(/[^A-Za-z0-9_]/g, "") || "Error", message };
  return { ...base, phase, printable, ready: { ok: false, ...r }, stalled: r, failure: r };
}
