/** The situation of a VM whose pod is alive (not ended, not terminating): pending, starting, running, paused. */
import type { ResolvedVm } from "../../../crds/launcher/resolve.ts";
import { hasGuestProbes } from "../../pod/probes.ts";
import { launcherSpecHash } from "../../pod/spec-hash.ts";
import type { VirtualMachine } from "../../../crds/api/virtual-machine.ts";
import type { PodView } from "../pod-view.ts";
import type { Observed } from "./inputs.ts";
import { pausedPod, phaseOfPod, stuck, type Printable, type Situation } from "./situation.ts";
import { unboundStateClaim } from "./state-claim.ts";

const IMAGE_PULL = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]);

/** A pending pod's situation: waiting for volumes, scheduling, init containers, or the launcher. */
export function pendingSituation(
  r: ResolvedVm,
  o: Observed,
  pod: { nodeName?: string; initialized: boolean },
): Situation {
  const pendingClaims = r.claimNames.filter((c) => {
    const claim = o.claims[c];
    return claim?.found === true && claim.phase === "Pending";
  });
  // The state claim's binding is waited for like the disks': with a WaitForFirstConsumer class it binds only
  // once the pod that mounts it is scheduled, so the pod is created and the status says what it waits for.
  const state = unboundStateClaim(r.vm, o);
  if (state) pendingClaims.push(state);
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

/** A live (not ended, not terminating) pod. */
export function podSituation(r: ResolvedVm, pod: PodView, o: Observed): Situation {
  const restartRequired =
    pod.specHash !== undefined && pod.specHash !== launcherSpecHash(r.vm.spec)
      ? "the spec changed since the launcher pod was created; restart the VM to apply it"
      : undefined;
  const base = { pod, ...(restartRequired ? { restartRequired } : {}) };
  if (pod.phase === "Running") return runningSituation(r.vm, pod, base);
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
    return stuck(base, "Scheduling", "ErrorUnschedulable", "Unschedulable", pod.unschedulable);
  if (pod.waiting) {
    const w = pod.waiting;
    const printable: Printable = IMAGE_PULL.has(w.reason)
      ? w.reason === "ErrImagePull"
        ? "ErrImagePull"
        : "ImagePullBackOff"
      : "Failed";
    return stuck(base, phaseOfPod(pod), printable, w.reason, w.message ?? w.reason);
  }
  return { ...base, ...pendingSituation(r, o, pod) };
}

/** A running pod: paused by the user, running (ready or not), or the launcher still starting the guest. */
function runningSituation(
  vm: VirtualMachine,
  pod: PodView,
  base: Pick<Situation, "pod" | "restartRequired">,
): Situation {
  if (pausedPod(vm.metadata.annotations) === pod.uid) {
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
