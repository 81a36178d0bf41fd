/** Starting a VM that has no pod: wait out a pending back-off, check its claims, then create the pod. */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { ResolvedVm } from "../../../crds/launcher/resolve.ts";
import { launcherPodOf } from "../../pod/build.ts";
import type { Action, Observed } from "./inputs.ts";
import { pendingSituation } from "./pod-situation.ts";
import { stuck, type Situation } from "./situation.ts";
import { stateClaimBlocker } from "./state-claim.ts";
import { dataVolumeWait } from "../../datavolume/vm-disks.ts";

/** Starts the VM's pod, unless a back-off, a missing claim or the state claim holds it back. */
export function startPod(r: ResolvedVm, prev: VmStatus, o: Observed, actions: Action[]): Situation {
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
  // A VM never boots a half-written disk: every DataVolume it names must have Succeeded first.
  const disks = o.dataVolumes ? dataVolumeWait(o.dataVolumes) : undefined;
  if (disks) {
    const why = { reason: disks.reason, message: disks.message };
    return {
      phase: "Stopped",
      printable: disks.printable,
      ready: { ok: false, ...why },
      ...(disks.failed ? { stalled: why, failure: why } : { reconciling: why }),
    };
  }
  const missing = r.claimNames.filter((c) => o.claims[c]?.found !== true);
  if (missing.length) {
    const message = `PersistentVolumeClaim${missing.length > 1 ? "s" : ""} not found: ${missing.join(", ")}`;
    return stuck({}, "Stopped", "ErrorPvcNotFound", "PvcNotFound", message);
  }
  const blocked = stateClaimBlocker(r.vm, o, actions);
  if (blocked) return blocked;
  const pod = launcherPodOf(r, { ...o.pod, startFailures: prev.startFailure?.consecutiveFailCount ?? 0 });
  actions.push({ kind: "createPod", pod });
  // Report what the next reconcile will see (an unscheduled pending pod), so the pod's arrival in the cache
  // needs no second status write.
  return { ...pendingSituation(r, o, { initialized: true }), createdPod: pod.metadata?.name ?? "" };
}
