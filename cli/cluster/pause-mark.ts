/**
 * The declarative half of `vireo pause|unpause`: once the launcher has paused (or resumed) the vCPUs, the VM
 * carries the annotation `vireo.dev/paused: <uid of the paused launcher pod>` (or loses it), from which the
 * operator reports the `Paused` condition — the launcher pod holds no API credentials, so it cannot report a
 * pause itself. The uid ties the mark to the pod it was made for: a mark left behind by a pod that has since
 * been replaced (restart, crash, stop and start) does not make the next pod read Paused.
 */
import { ANNOTATION_PAUSED } from "../../crds/contract/index.ts";
import type { VmClient } from "./kube.ts";
import type { VmView } from "./vm-view.ts";

/** How the exec of `vireo-launcher pause|unpause` ended. */
export type PauseExecOutcome = { ok: true } | { ok: false; error: unknown };

/**
 * The merge patch that records `command` on the VM, or undefined when the VM already says so. A pause names
 * the launcher pod (`podUid`) whose guest was paused.
 */
export function pausedAnnotationPatch(
  vm: VmView,
  command: "pause" | "unpause",
  podUid?: string,
): Record<string, unknown> | undefined {
  const current = vm.metadata.annotations?.[ANNOTATION_PAUSED];
  if (command === "pause") {
    if (!podUid) throw new TypeError("a pause mark needs the uid of the paused launcher pod");
    return current === podUid ? undefined : { metadata: { annotations: { [ANNOTATION_PAUSED]: podUid } } };
  }
  // null deletes the key in a JSON merge patch.
  return current === undefined ? undefined : { metadata: { annotations: { [ANNOTATION_PAUSED]: null } } };
}

/**
 * Records the outcome of the launcher exec in pod `podUid` on the VM: only a successful pause/unpause changes
 * the annotation; a failed exec leaves it as it was (the guest's state did not change, or is unknown). Returns
 * whether it patched.
 */
export async function recordPauseOutcome(
  client: VmClient,
  command: "pause" | "unpause",
  namespace: string,
  name: string,
  outcome: PauseExecOutcome,
  podUid?: string,
): Promise<boolean> {
  if (!outcome.ok) return false;
  const patch = pausedAnnotationPatch(await client.getVm(namespace, name), command, podUid);
  if (patch === undefined) return false;
  // No resourceVersion in the patch: the annotation is ours alone and the latest pause/unpause wins.
  await client.patchVm(namespace, name, patch);
  return true;
}
