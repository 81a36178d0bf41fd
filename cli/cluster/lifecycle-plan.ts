/**
 * Pure decisions of `vireo start|stop|restart`: the merge patch to send, or why nothing needs to change.
 *
 * Start and stop edit `spec.runStrategy`, the same declarative knob GitOps uses. Stop saves the strategy it
 * replaces in an annotation so start can put it back; start restores Always or RerunOnFailure from there and
 * otherwise sets Always (KubeVirt's `virtctl start` sets Always too). Restart sets the
 * `vireo.dev/restartedAt` annotation, like `kubectl rollout restart`; the operator replaces the pod.
 */
import { ANNOTATION_RESTARTED_AT } from "../../operator/names.ts";
import { ClusterCliError } from "./errors.ts";
import { runStrategyOf, stateOf, type VmView } from "./vm-view.ts";

/** Annotation in which `vireo stop` keeps the runStrategy it replaced with Halted. */
export const ANNOTATION_RUN_STRATEGY_BEFORE_STOP = "vireo.dev/runStrategyBeforeStop";

/** Strategies `vireo start` restores; anything else starts as Always. */
const RESTORABLE = new Set(["Always", "RerunOnFailure"]);

/** A JSON merge patch for the VM and what it does, or a no-op with the reason. */
export type LifecyclePlan =
  { kind: "patch"; patch: Record<string, unknown>; message: string } | { kind: "noop"; message: string };

function withVersion(
  vm: VmView,
  patch: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> },
) {
  // resourceVersion makes the patch conditional: it fails with 409 if the VM changed since we read it.
  return { ...patch, metadata: { ...patch.metadata, resourceVersion: vm.metadata.resourceVersion } };
}

/** Whether the VM has (or is about to get) a launcher pod. */
function hasLauncher(vm: VmView): boolean {
  return vm.status?.launcherPod !== undefined && vm.status.launcherPod !== "";
}

/** `vireo start`. */
export function planStart(vm: VmView): LifecyclePlan {
  const name = vm.metadata.name;
  const current = runStrategyOf(vm);
  if (current === "Always")
    return { kind: "noop", message: `VM ${name} is already started (runStrategy Always)` };
  if (current === "RerunOnFailure" && hasLauncher(vm))
    return { kind: "noop", message: `VM ${name} is already running (runStrategy RerunOnFailure)` };
  const saved = vm.metadata.annotations?.[ANNOTATION_RUN_STRATEGY_BEFORE_STOP];
  const next = current === "Halted" && saved !== undefined && RESTORABLE.has(saved) ? saved : "Always";
  const annotations = saved !== undefined ? { [ANNOTATION_RUN_STRATEGY_BEFORE_STOP]: null } : undefined;
  return {
    kind: "patch",
    patch: withVersion(vm, {
      spec: { runStrategy: next },
      ...(annotations ? { metadata: { annotations } } : {}),
    }),
    message: `VM ${name} starting (runStrategy ${current} → ${next})`,
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

/** `vireo restart`, at time `now`. */
export function planRestart(vm: VmView, now: Date): LifecyclePlan {
  const name = vm.metadata.name;
  if (runStrategyOf(vm) === "Halted" || !hasLauncher(vm)) {
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
