/**
 * Pure decisions of `vireo start|stop|restart`: the merge patch to send, or why nothing needs to change.
 * They use the operator's two declarative knobs, the ones GitOps uses too:
 *
 * - `spec.runStrategy`: stop sets Halted and saves the strategy it replaced in an annotation; start from
 *   Halted puts that strategy back (Always, RerunOnFailure or Manual), else sets Always — as KubeVirt's
 *   `virtctl start` does.
 * - the `vireo.dev/restartedAt` annotation (a restart request, like `kubectl rollout restart`): restart sets
 *   it, and start uses it for a VM whose strategy does not start it by itself again — Manual, Once, or
 *   RerunOnFailure after the guest shut down — so that strategy is kept rather than turned into Always.
 */
import { ANNOTATION_RESTARTED_AT, ANNOTATION_RUN_STRATEGY_BEFORE_STOP } from "../../crds/contract/index.ts";
import { ClusterCliError } from "./errors.ts";
import { runStrategyOf, stateOf, type VmView } from "./vm-view.ts";

/** Strategies `vireo start` restores after `vireo stop`; anything else starts as Always. */
const RESTORABLE = new Set(["Always", "RerunOnFailure", "Manual"]);

/** Phases in which a VM has no guest running (or about to run). */
const ENDED_PHASES = new Set(["Stopped", "Succeeded", "Failed"]);

/** A JSON merge patch for the VM and what it does, or a no-op with the reason. */
export type LifecyclePlan =
  { kind: "patch"; patch: Record<string, unknown>; message: string } | { kind: "noop"; message: string };

type PatchBody = {
  metadata?: { annotations?: Record<string, string | null> };
  spec?: Record<string, unknown>;
};

function withVersion(vm: VmView, patch: PatchBody): Record<string, unknown> {
  // resourceVersion makes the patch conditional: it fails with 409 if the VM changed since we read it.
  return { ...patch, metadata: { ...patch.metadata, resourceVersion: vm.metadata.resourceVersion } };
}

/** Whether the VM has a launcher pod that has not ended. */
function isRunning(vm: VmView): boolean {
  const phase = vm.status?.phase;
  return !!vm.status?.launcherPod && phase !== undefined && !ENDED_PHASES.has(phase);
}

/** `vireo start`, at time `now`. */
export function planStart(vm: VmView, now: Date): LifecyclePlan {
  const name = vm.metadata.name;
  const current = runStrategyOf(vm);
  if (current === "Always")
    return { kind: "noop", message: `VM ${name} is already started (runStrategy Always)` };
  if (current !== "Halted") {
    if (isRunning(vm))
      return { kind: "noop", message: `VM ${name} is already running (runStrategy ${current})` };
    const at = now.toISOString();
    return {
      kind: "patch",
      patch: withVersion(vm, { metadata: { annotations: { [ANNOTATION_RESTARTED_AT]: at } } }),
      message: `VM ${name} starting (runStrategy ${current} kept; start request ${ANNOTATION_RESTARTED_AT}=${at})`,
    };
  }
  const saved = vm.metadata.annotations?.[ANNOTATION_RUN_STRATEGY_BEFORE_STOP];
  const next = saved !== undefined && RESTORABLE.has(saved) ? saved : "Always";
  const annotations: Record<string, string | null> = {};
  if (saved !== undefined) annotations[ANNOTATION_RUN_STRATEGY_BEFORE_STOP] = null; // null deletes the key
  // Manual starts nothing by itself: it needs the start request too.
  if (next === "Manual") annotations[ANNOTATION_RESTARTED_AT] = now.toISOString();
  const metadata = Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {};
  return {
    kind: "patch",
    patch: withVersion(vm, { spec: { runStrategy: next }, ...metadata }),
    message: `VM ${name} starting (runStrategy Halted → ${next})`,
  };
}

/** `vireo stop`. */
export function planStop(vm: VmView): LifecyclePlan {
  const name = vm.metadata.name;
  const current = runStrategyOf(vm);
  if (current === "Halted")
    return { kind: "noop", message: `VM ${name} is already stopped (runStrategy Halted)` };
  return {
    kind: "patch",
    patch: withVersion(vm, {
      spec: { runStrategy: "Halted" },
      metadata: { annotations: { [ANNOTATION_RUN_STRATEGY_BEFORE_STOP]: current } },
    }),
    message: `VM ${name} stopping (runStrategy ${current} → Halted)`,
  };
}

/** `vireo restart`, at time `now`. A failed VM may be restarted; a stopped one must be started. */
export function planRestart(vm: VmView, now: Date): LifecyclePlan {
  const name = vm.metadata.name;
  const phase = vm.status?.phase;
  if (
    runStrategyOf(vm) === "Halted" ||
    !vm.status?.launcherPod ||
    phase === "Stopped" ||
    phase === "Succeeded"
  ) {
    throw new ClusterCliError(
      "NOT_RUNNING",
      `VM ${name} is ${stateOf(vm)}; start it with vireo start ${name}`,
    );
  }
  // Milliseconds, so two restarts within one second still differ (RFC 3339 allows fractional seconds).
  const at = now.toISOString();
  return {
    kind: "patch",
    patch: withVersion(vm, { metadata: { annotations: { [ANNOTATION_RESTARTED_AT]: at } } }),
    message: `VM ${name} restarting (${ANNOTATION_RESTARTED_AT}=${at})`,
  };
}
