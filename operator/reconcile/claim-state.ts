/** The PVCs a VM names, as `decide` reads them from the cache (the reconciler's one projection of PVCs). */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { parseQuantity } from "../../crds/api/quantity.ts";
import type { ClaimState, StateClaimState } from "./decide/inputs.ts";

/** What the PVC cache shows of a claim the VM names: found, its volume mode, capacity and phase. */
export function claimState(pvc: V1PersistentVolumeClaim | undefined): ClaimState {
  if (!pvc) return { found: false };
  const size = pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage;
  const bytes = size !== undefined ? parseQuantity(String(size)) : undefined;
  return {
    found: true,
    volumeMode: pvc.spec?.volumeMode === "Block" ? "Block" : "Filesystem",
    ...(bytes !== undefined ? { capacityBytes: Math.floor(bytes) } : {}),
    ...(pvc.status?.phase ? { phase: pvc.status.phase } : {}),
  };
}

/** What the PVC cache shows under the VM's state-claim name, and who controls it. */
export function stateClaimState(pvc: V1PersistentVolumeClaim | undefined): StateClaimState {
  if (!pvc) return { found: false };
  const owner = pvc.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
  return {
    found: true,
    uid: pvc.metadata?.uid ?? "",
    ...(owner ? { ownerUid: owner } : {}),
    ...(pvc.status?.phase ? { phase: pvc.status.phase } : {}),
    terminating: Boolean(pvc.metadata?.deletionTimestamp),
  };
}
