/**
 * The VM's state claim (persistent UEFI variables) in the decision: created before the first pod, never
 * borrowed from another owner, deleted with the VM.
 */
import type { VirtualMachine } from "../../../crds/api/virtual-machine.ts";
import { stateClaimName } from "../../../crds/contract/index.ts";
import { buildStateClaim, needsStateClaim } from "../../pod/state-claim.ts";
import type { Action, Observed, RawVm } from "./inputs.ts";
import { stuck, type Situation } from "./situation.ts";

/** The claim under the VM's state-claim name if this VM controls it. */
export function ownStateClaim(
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
export function stateClaimBlocker(vm: VirtualMachine, o: Observed, actions: Action[]): Situation | undefined {
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
    return stuck({}, "Stopped", "ErrorPvcNotFound", "StateClaimNotOwned", message);
  }
  if (c.terminating) return waiting(`the state claim ${name} is being deleted; a new one follows`);
  return undefined;
}

/** The state claim's name while it has not bound yet (the pod waits for it like for its disks). */
export function unboundStateClaim(vm: VirtualMachine, o: Observed): string | undefined {
  const state = o.stateClaim;
  return needsStateClaim(vm) && state?.found && state.phase !== "Bound"
    ? stateClaimName(vm.metadata.name ?? "")
    : undefined;
}
