/** Reading pods and claims into the views `decideDataVolume` takes. Pure. */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { parseQuantity } from "../../crds/api/quantity.ts";
import { parseImportResult } from "../../crds/importer/config.ts";
import type { ClaimView, ImporterView } from "./phase.ts";
import { IMPORTER_CONTAINER } from "./names.ts";

/** The claim's view; `dvUid` decides whether the DataVolume owns it. */
export function claimView(pvc: V1PersistentVolumeClaim, dvUid: string): ClaimView {
  const size = pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage;
  const bytes = size !== undefined ? parseQuantity(String(size)) : undefined;
  return {
    uid: pvc.metadata?.uid ?? "",
    ownedByDv: pvc.metadata?.ownerReferences?.some((r) => r.controller && r.uid === dvUid) ?? false,
    ...(pvc.status?.phase ? { phase: pvc.status.phase } : {}),
    ...(bytes !== undefined ? { capacityBytes: Math.floor(bytes) } : {}),
  };
}

/** The importer pod's view: its phase, its container's result and why it waits or ended. */
export function importerView(pod: V1Pod): ImporterView {
  const cs = pod.status?.containerStatuses?.find((c) => c.name === IMPORTER_CONTAINER);
  const term = cs?.state?.terminated;
  const waiting =
    cs?.state?.waiting ?? pod.status?.initContainerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  const phase = pod.status?.phase;
  const finished = term?.finishedAt ? Date.parse(String(term.finishedAt)) : NaN;
  const result = parseImportResult(term?.message);
  return {
    uid: pod.metadata?.uid ?? "",
    phase:
      phase === "Pending" || phase === "Running" || phase === "Succeeded" || phase === "Failed"
        ? phase
        : "Unknown",
    ...(result ? { result } : {}),
    ...(waiting?.reason
      ? { stateReason: waiting.reason }
      : term?.reason && !result
        ? { stateReason: term.reason }
        : {}),
    ...(waiting?.message ? { stateMessage: waiting.message } : {}),
    ...(Number.isFinite(finished) ? { finishedAt: finished } : {}),
  };
}

/** A running launcher pod that mounts `claim` (a clone of it would copy a disk being written). */
export function podUsingClaim(pods: readonly V1Pod[], claim: string): string | undefined {
  return pods.find(
    (p) =>
      p.status?.phase !== "Succeeded" &&
      p.status?.phase !== "Failed" &&
      p.spec?.volumes?.some(
        (v) => v.persistentVolumeClaim?.claimName === claim && !v.persistentVolumeClaim.readOnly,
      ),
  )?.metadata?.name;
}
