/**
 * The migration controller's decisions, pure: given a VirtualMachineMigration and what the shell gathered
 * (the VM, its launcher pod, the target pod, the target node, the launchers' `migrate status` answers), the
 * next status and the actions that take it there. The shell carries the actions out in order and writes the
 * status only when all of them succeeded, so a failed exec is retried from the same phase (level-triggered).
 */
import type { MigrationPhase, MigrationSettings, MigrationStatus } from "../../crds/api/migration.ts";
import { FINAL_MIGRATION_PHASES } from "../../crds/api/migration.ts";
import type { Migratability } from "./migratable.ts";
import { migratedFigures } from "./termination.ts";

/** A launcher pod as the controller sees it. */
export interface PodFacts {
  name: string;
  node?: string | undefined;
  phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  ip?: string | undefined;
  /** The launcher container's termination message, once it ended. */
  terminationMessage?: string | undefined;
}

/** A launcher's `vireo-launcher migrate status` answer (launcher/migration/session.ts's status). */
export interface LauncherMigrationStatus {
  role: "source" | "target";
  state: "idle" | "listening" | "running" | "succeeded" | "failed" | "cancelled";
  progress?: {
    transferredBytes?: number;
    remainingBytes?: number;
    totalBytes?: number;
    iterations?: number;
    throttlePercent?: number;
    downtimeMilliseconds?: number;
  };
  reason?: string;
  message?: string;
}

/** Everything one decision reads. */
export interface MigrationFacts {
  spec: {
    vmName: string;
    targetNode?: string | undefined;
    settings?: MigrationSettings | undefined;
    cancel?: boolean | undefined;
  };
  status: MigrationStatus;
  /** The VM; undefined when it does not exist. */
  vm?: { running: boolean; migratable: Migratability } | undefined;
  /** Other migrations of the same VM that are not final and were accepted first. */
  othersActive: string[];
  source?: PodFacts | undefined;
  target?: PodFacts | undefined;
  /** The target node when spec.targetNode names one; undefined when it does not exist. */
  targetNode?: { unschedulable: boolean } | undefined;
  sourceLauncher?: LauncherMigrationStatus | undefined;
  targetLauncher?: LauncherMigrationStatus | undefined;
  nowIso: string;
  /** How long the target pod has been Pending (ms), for the scheduling timeout. */
  targetPendingMs?: number | undefined;
}

/** Something the shell does. */
export type MigrationAction =
  | { kind: "create-target-pod" }
  | { kind: "delete-target-pod" }
  /** After success: the source pod that handed its guest over (the VM reconciler leaves it to us). */
  | { kind: "delete-source-pod" }
  | { kind: "exec"; pod: "source" | "target"; verb: "listen" | "start" | "cancel"; request?: object }
  | { kind: "event"; type: "Normal" | "Warning"; reason: string; message: string };

/** A decision: the status to write, the actions before it, and when to look again. */
export interface MigrationDecision {
  status: MigrationStatus;
  actions: MigrationAction[];
  requeueAfterMs?: number;
}

/** How long a target pod may stay Pending (unschedulable, image pull) before the migration fails. */
export const TARGET_SCHEDULING_TIMEOUT_MS = 5 * 60_000;
/** How often a running migration's progress is read. */
export const PROGRESS_POLL_MS = 2_000;

const ev = (type: "Normal" | "Warning", reason: string, message: string): MigrationAction => ({
  kind: "event",
  type,
  reason,
  message,
});

/** Decides the next step of one migration. */
export function decideMigration(f: MigrationFacts): MigrationDecision {
  const phase = f.status.phase;
  if (phase && FINAL_MIGRATION_PHASES.includes(phase)) return finished(f);
  if (!phase) return admit(f);
  if (f.spec.cancel) return cancel(f);
  switch (phase) {
    case "Pending":
      return to(f, "Scheduling", [
        { kind: "create-target-pod" },
        ev("Normal", "TargetCreated", "target launcher pod created"),
      ]);
    case "Scheduling":
      return scheduling(f);
    case "TargetReady":
      if (!f.source) return fail(f, "SOURCE_GONE", "the source pod is gone", true);
      return to(f, "Running", [
        {
          kind: "exec",
          pod: "source",
          verb: "start",
          request: { address: f.target?.ip, settings: settingsOf(f) },
        },
        ev("Normal", "MigrationStarted", `sending the guest to ${f.target?.name} on ${f.target?.node}`),
      ]);
    case "Running":
      return running(f);
  }
  return { status: f.status, actions: [] };
}

/** A fresh migration: refused (Failed with a reason, nothing started) or accepted (Pending). */
function admit(f: MigrationFacts): MigrationDecision {
  const refusal = refusalOf(f);
  if (refusal) return fail(f, refusal.reason, refusal.message, false);
  const status: MigrationStatus = {
    ...f.status,
    phase: "Pending",
    startTime: f.nowIso,
    source: { pod: f.source?.name, node: f.source?.node },
  };
  return {
    status,
    actions: [ev("Normal", "MigrationAccepted", `migrating VM ${f.spec.vmName} from ${f.source?.node}`)],
  };
}

/** Why a new migration cannot start, if it cannot. */
export function refusalOf(f: MigrationFacts): { reason: string; message: string } | undefined {
  if (!f.vm) return { reason: "VM_NOT_FOUND", message: `VM ${f.spec.vmName} does not exist` };
  if (!f.vm.running || f.source?.phase !== "Running")
    return { reason: "VM_NOT_RUNNING", message: `VM ${f.spec.vmName} is not running` };
  if (f.othersActive.length)
    return {
      reason: "ALREADY_MIGRATING",
      message: `VM ${f.spec.vmName} is already migrating (${f.othersActive.join(", ")})`,
    };
  if (f.vm.migratable.status !== "True")
    return { reason: "NOT_MIGRATABLE", message: `${f.vm.migratable.reason}: ${f.vm.migratable.message}` };
  if (f.spec.settings?.allowPostCopy)
    return { reason: "POST_COPY_UNSUPPORTED", message: "post-copy migration is not supported yet" };
  if (f.spec.targetNode !== undefined) {
    if (!f.targetNode)
      return { reason: "NODE_NOT_FOUND", message: `node ${f.spec.targetNode} does not exist` };
    if (f.targetNode.unschedulable)
      return { reason: "NODE_UNSCHEDULABLE", message: `node ${f.spec.targetNode} is cordoned` };
    if (f.spec.targetNode === f.source?.node)
      return { reason: "SAME_NODE", message: `VM ${f.spec.vmName} already runs on ${f.spec.targetNode}` };
  }
  return undefined;
}

function scheduling(f: MigrationFacts): MigrationDecision {
  const t = f.target;
  if (!t) return to(f, "Scheduling", [{ kind: "create-target-pod" }]);
  if (t.phase === "Failed" || t.phase === "Succeeded")
    return fail(f, "TARGET_FAILED", `target pod ${t.name} ended: ${t.terminationMessage ?? t.phase}`, true);
  if (t.phase === "Pending" && (f.targetPendingMs ?? 0) > TARGET_SCHEDULING_TIMEOUT_MS)
    return fail(f, "TARGET_UNSCHEDULABLE", `target pod ${t.name} was not running after 5 minutes`, true);
  // The target launcher answers `migrate status` once QEMU waits with -incoming defer.
  if (t.phase !== "Running" || !t.ip || f.targetLauncher?.state !== "idle")
    return { status: f.status, actions: [], requeueAfterMs: PROGRESS_POLL_MS };
  const status: MigrationStatus = {
    ...f.status,
    phase: "TargetReady",
    target: { pod: t.name, node: t.node, address: t.ip },
  };
  return {
    status,
    actions: [
      { kind: "exec", pod: "target", verb: "listen", request: { address: t.ip } },
      ev("Normal", "TargetReady", `target ${t.name} on ${t.node} listens at ${t.ip}`),
    ],
  };
}

function running(f: MigrationFacts): MigrationDecision {
  // On success the source launcher quits QEMU and ends at once; its termination message has the figures.
  if (f.source?.phase === "Succeeded" && f.source.terminationMessage?.startsWith("migrated")) {
    const figures = migratedFigures(f.source.terminationMessage);
    const status: MigrationStatus = {
      ...f.status,
      phase: "Succeeded",
      endTime: f.nowIso,
      progress: { ...f.status.progress, ...figures, remainingBytes: 0 },
    };
    return { status, actions: [ev("Normal", "MigrationSucceeded", `the guest runs on ${f.target?.node}`)] };
  }
  if (!f.source) return fail(f, "SOURCE_GONE", "the source pod is gone before the hand-over was seen", true);
  const s = f.sourceLauncher;
  if (s?.state === "failed") return fail(f, s.reason ?? "MIGRATION_FAILED", s.message ?? "failed", true);
  if (s?.state === "cancelled")
    return fail(f, "CANCELLED", "cancelled in the source launcher", true, "Cancelled");
  if (f.source && f.source.phase !== "Running" && f.source.phase !== "Succeeded")
    return fail(f, "SOURCE_FAILED", `source pod ${f.source.name} is ${f.source.phase}`, true);
  const progress = s?.progress ? { ...f.status.progress, ...s.progress } : f.status.progress;
  return {
    status: { ...f.status, ...(progress ? { progress } : {}) },
    actions: [],
    requeueAfterMs: PROGRESS_POLL_MS,
  };
}

function cancel(f: MigrationFacts): MigrationDecision {
  if (f.status.phase === "Running" && f.sourceLauncher?.state === "running")
    return {
      status: f.status,
      actions: [
        { kind: "exec", pod: "source", verb: "cancel" },
        ev("Normal", "MigrationCancelling", "cancel requested"),
      ],
      requeueAfterMs: PROGRESS_POLL_MS,
    };
  if (f.status.phase === "Running" && f.source?.phase === "Succeeded") return running(f); // too late: it made it
  return fail(f, "CANCELLED", "cancelled by the user; the VM keeps running on its node", true, "Cancelled");
}

/**
 * Final phases: no target of a failed migration is left behind, and the source pod of a successful one goes
 * once the result is written (deleting it earlier would lose the termination message the result comes from).
 */
function finished(f: MigrationFacts): MigrationDecision {
  if (f.status.phase === "Succeeded")
    return {
      status: f.status,
      actions: f.source?.phase === "Succeeded" ? [{ kind: "delete-source-pod" }] : [],
    };
  const leftover = f.target && f.target.phase !== "Succeeded";
  return { status: f.status, actions: leftover ? [{ kind: "delete-target-pod" }] : [] };
}

function to(f: MigrationFacts, phase: MigrationPhase, actions: MigrationAction[]): MigrationDecision {
  return { status: { ...f.status, phase }, actions };
}

function fail(
  f: MigrationFacts,
  reason: string,
  message: string,
  removeTarget: boolean,
  phase: "Failed" | "Cancelled" = "Failed",
): MigrationDecision {
  const status: MigrationStatus = { ...f.status, phase, reason, message, endTime: f.nowIso };
  const actions: MigrationAction[] = [];
  if (removeTarget && f.target) actions.push({ kind: "delete-target-pod" });
  actions.push(
    ev(
      phase === "Failed" ? "Warning" : "Normal",
      phase === "Failed" ? "MigrationFailed" : "MigrationCancelled",
      `${reason}: ${message}`,
    ),
  );
  return { status, actions };
}

function settingsOf(f: MigrationFacts): object {
  const s = f.spec.settings ?? {};
  return Object.fromEntries(
    (["bandwidthBytesPerSecond", "completionTimeoutPerGiB", "autoConverge"] as const)
      .filter((k) => s[k] !== undefined)
      .map((k) => [k, s[k]]),
  );
}
