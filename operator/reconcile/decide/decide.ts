/**
 * The inner, pure half of reconcile: from a VM and what the caches show, the actions to take and the status
 * to report. No I/O, no clock (time is an input), so every runStrategy rule is a table test. The suite:
 * inputs.ts (what goes in and out), run-strategy.ts (the table and the decision it drives), situation.ts and
 * its neighbours (where the VM stands), status.ts and events.ts (rendering).
 */
import { vmStatusSchema, type VmStatus } from "../../../crds/api/status.ts";
import { validateVirtualMachine } from "../../../crds/api/validate.ts";
import { expandWithFacts } from "../../instancetype/facts.ts";
import { resolveVm, type ClaimFacts, type ResolvedVm } from "../../../crds/launcher/resolve.ts";
import { FINALIZER } from "../../../crds/contract/index.ts";
import { eventsFor, startWarnings } from "./events.ts";
import type { Action, Decision, Observed, RawVm } from "./inputs.ts";
import { decideValid } from "./run-strategy.ts";
import { deletePod, phaseOfPod, type Situation } from "./situation.ts";
import { ownStateClaim } from "./state-claim.ts";
import { renderStatus } from "./status.ts";
import { templateDataVolumes, withDataVolumeClaims } from "../../datavolume/vm-disks.ts";

/** Reads the status the VM carries, tolerating one this operator version cannot parse. */
function previousStatus(raw: RawVm): VmStatus {
  const r = vmStatusSchema.safeParse(raw.status ?? {});
  return r.success ? r.data : {};
}

/** The claims the cache shows, as the resolver needs them. */
function claimFacts(o: Observed): Record<string, ClaimFacts> {
  const claims: Record<string, ClaimFacts> = {};
  for (const [name, c] of Object.entries(o.claims))
    if (c.found)
      claims[name] = {
        volumeMode: c.volumeMode,
        ...(c.capacityBytes !== undefined ? { capacityBytes: c.capacityBytes } : {}),
      };
  return claims;
}

/** Decides what to do about one VM. Pure: same inputs, same decision. */
export function decide(raw: RawVm, observed: Observed): Decision {
  const prev = previousStatus(raw);
  if (raw.metadata.deletionTimestamp) return deleting(raw, prev, observed);
  const hasFinalizer = raw.metadata.finalizers?.includes(FINALIZER) ?? false;
  const actions: Action[] = hasFinalizer ? [] : [{ kind: "addFinalizer" }];
  // A VM naming an instancetype or preference is validated as expanded with them (operator/instancetype).
  const expanded = expandWithFacts(raw, observed.profiles);
  if (!expanded.ok) return invalid(raw, prev, observed, actions, expanded.message);
  const validation = validateVirtualMachine({ ...expanded.vm, status: undefined });
  if (!validation.ok) {
    const message = validation.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
    return invalid(raw, prev, observed, actions, message);
  }
  // dataVolumeTemplates become DataVolumes owned by the VM, whatever its run strategy (as KubeVirt's).
  const dvs = observed.dataVolumes ?? {};
  for (const dv of templateDataVolumes(validation.vm, dvs))
    actions.push({ kind: "createDataVolume", dataVolume: dv });
  // A dataVolume volume is its claim from here on; start.ts holds the pod back until the DataVolume is done.
  const r = resolveVm(withDataVolumeClaims(validation.vm, dvs), {
    defaultBinding: observed.pod.defaultBinding,
    claims: claimFacts(observed),
  });
  const situation = decideValid(r, prev, observed, actions);
  return finish(raw, prev, observed, situation, actions, r);
}

/** A VM being deleted: its pods go first, then its own state claim, then the finalizer. */
function deleting(raw: RawVm, prev: VmStatus, observed: Observed): Decision {
  const meta = raw.metadata;
  if (observed.pods.length === 0) {
    // The state claim goes with the VM, deleted here rather than left to a garbage collector: once the
    // finalizer is gone the VM is too, and nothing would look at the claim again.
    const own = ownStateClaim(meta, observed);
    const actions: Action[] =
      own && !own.terminating ? [{ kind: "deleteClaim", name: own.name, uid: own.uid }] : [];
    if (meta.finalizers?.includes(FINALIZER)) actions.push({ kind: "removeFinalizer" });
    return { actions, events: [] };
  }
  const alive = observed.pods.filter((p) => !p.terminating);
  const actions: Action[] = alive.map((p) => deletePod(p, "the VM is being deleted"));
  const s: Situation = {
    phase: phaseOfPod(observed.pods[0]!),
    printable: "Terminating",
    ready: { ok: false, reason: "Terminating", message: "the VM is being deleted" },
    reconciling: { reason: "Terminating", message: "waiting for the launcher pod to stop" },
    pod: observed.pods[0]!,
  };
  return finish(raw, prev, observed, s, actions, undefined);
}

/** An invalid spec: terminal (no retry helps), said in Failure and Stalled; Halted still stops the pod. */
function invalid(raw: RawVm, prev: VmStatus, o: Observed, actions: Action[], message: string): Decision {
  const halted = (raw.spec as { runStrategy?: string } | undefined)?.runStrategy === "Halted";
  if (halted)
    actions.push(...o.pods.filter((p) => !p.terminating).map((p) => deletePod(p, "runStrategy is Halted")));
  const pod = o.pods[0];
  const s: Situation = {
    phase: pod ? phaseOfPod(pod) : "Stopped",
    printable: "InvalidSpec",
    ready: { ok: false, reason: "InvalidSpec", message },
    stalled: { reason: "InvalidSpec", message },
    failure: { reason: "InvalidSpec", message },
    ...(pod ? { pod } : {}),
  };
  return { ...finish(raw, prev, o, s, actions, undefined), terminal: "InvalidSpec" };
}

/** The decision: actions, the rendered status, its events, and when to look again. */
function finish(
  raw: RawVm,
  prev: VmStatus,
  o: Observed,
  s: Situation,
  actions: Action[],
  r: ResolvedVm | undefined,
): Decision {
  const status = renderStatus(raw, prev, o, s, actions, r);
  const created = actions.some((a) => a.kind === "createPod");
  return {
    actions,
    status,
    events: [...eventsFor(prev, status, s, actions), ...(created && r ? startWarnings(r.vm, o) : [])],
    ...(s.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(1, Math.ceil(s.requeueAfterMs)) } : {}),
  };
}
