/**
 * The runStrategy table (KubeVirt semantics) and the decision it drives for a valid VM: which pod to keep,
 * delete or create, and where that leaves the VM.
 */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { ResolvedVm } from "../../../crds/launcher/resolve.ts";
import { ANNOTATION_RESTARTED_AT } from "../../../crds/contract/index.ts";
import { ended, endedRecord, restartEnded, runFailed } from "./ended.ts";
import type { Action, Observed } from "./inputs.ts";
import { podSituation } from "./pod-situation.ts";
import {
  deletePod,
  finished,
  nodeUnreachable,
  stopped,
  stopping,
  type RunStrategy,
  type Situation,
} from "./situation.ts";
import { startPod } from "./start.ts";
import { vmPodsOf } from "../../migration/adoption.ts";

/** What a runStrategy asks for. */
export interface StrategyRule {
  /** Start a pod when there is none: always, only on a restart request not yet acted on, or never. */
  start: "always" | "onRequest" | "never";
  /** Replace an ended pod, by how it ended. */
  rerun: { Succeeded: boolean; Failed: boolean };
  /** A run that ended and whose pod is gone stays ended (until a newer restart request). */
  endIsFinal: boolean;
}

/** The runStrategy table. */
export const RUN_STRATEGY_RULES: Readonly<Record<RunStrategy, StrategyRule>> = {
  Always: { start: "always", rerun: { Succeeded: true, Failed: true }, endIsFinal: false },
  RerunOnFailure: { start: "always", rerun: { Succeeded: false, Failed: true }, endIsFinal: true },
  Once: { start: "always", rerun: { Succeeded: false, Failed: false }, endIsFinal: true },
  Manual: { start: "onRequest", rerun: { Succeeded: false, Failed: false }, endIsFinal: false },
  Halted: { start: "never", rerun: { Succeeded: false, Failed: false }, endIsFinal: false },
};

/** Decides about a valid VM: the strategy's situation, overridden when its pod's node stopped answering. */
export function decideValid(r: ResolvedVm, prev: VmStatus, o: Observed, actions: Action[]): Situation {
  const s = decideRunStrategy(r, prev, o, actions);
  // Whatever the strategy asked for (run, stop, restart), a pod on a node that stopped answering can neither
  // be seen running nor be confirmed gone: say so instead of Starting or Stopping forever.
  return s.pod?.nodeLost && !finished(s.pod) ? nodeUnreachable(s.pod, s) : s;
}

function decideRunStrategy(r: ResolvedVm, prev: VmStatus, o: Observed, actions: Action[]): Situation {
  const strategy: RunStrategy = r.vm.spec.runStrategy;
  const rule = RUN_STRATEGY_RULES[strategy];
  const restartRequest = r.vm.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  // The newest pod is the VM's; older ones (only possible if names changed between versions) go. A live
  // migration's target is not among them until the VM's current pod has handed its guest over.
  const pods = vmPodsOf(o.pods, prev.launcherPod).sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  const pod = pods[0];
  for (const extra of pods.slice(1))
    if (!extra.terminating) actions.push(deletePod(extra, "a VM has one launcher pod"));

  if (pod?.terminating) return stopping(pod, "waiting for the launcher pod to stop");
  if (rule.start === "never") {
    if (!pod) return stopped("Halted", "runStrategy is Halted");
    actions.push(deletePod(pod, "runStrategy is Halted"));
    return stopping(pod, "stopping: runStrategy is Halted");
  }
  if (pod && restartRequest !== undefined && restartRequest !== pod.restartedAt) {
    actions.push(deletePod(pod, `restart requested at ${restartRequest}`));
    return stopping(pod, `restarting: requested at ${restartRequest}`);
  }
  if (pod && finished(pod)) {
    if (!rule.rerun[runFailed(pod) ? "Failed" : "Succeeded"]) return ended(pod, strategy);
    return restartEnded(pod, o, actions);
  }
  if (pod) return podSituation(r, pod, o);

  // The ended pod of a run that is not repeated is gone (drained, deleted by hand, garbage-collected): the run
  // still happened. Only a restart request newer than that run starts another.
  const last = prev.lastRun;
  const newRequest = restartRequest !== undefined && restartRequest !== last?.restartedAt;
  if (last && rule.endIsFinal && !newRequest) return endedRecord(last, strategy);

  const wantsStart =
    rule.start === "always" || (restartRequest !== undefined && restartRequest !== prev.restartedAt);
  if (!wantsStart) return stopped("Stopped", "runStrategy is Manual: start it with a restart request");
  return startPod(r, prev, o, actions);
}
