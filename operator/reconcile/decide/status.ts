/** Renders a situation into the VM's status: conditions, restart and run records, pod, node, IPs, latency. */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { ResolvedVm } from "../../../crds/launcher/resolve.ts";
import { ANNOTATION_RESTARTED_AT } from "../../../crds/contract/index.ts";
import { buildConditions, type ConditionInput } from "../conditions.ts";
import type { Action, Observed, RawVm } from "./inputs.ts";
import { agentStatusOf, withGuestIps } from "./guest-agent.ts";
import { interfacesOf } from "./interfaces.ts";
import { pausedPod, type Reason, type Situation } from "./situation.ts";

/** The complete status for situation `s`; `r` is the resolved VM, undefined for an invalid spec. */
export function renderStatus(
  raw: RawVm,
  prev: VmStatus,
  o: Observed,
  s: Situation,
  actions: readonly Action[],
  r: ResolvedVm | undefined,
): VmStatus {
  const generation = raw.metadata.generation ?? 0;
  const guest = s.guest ?? notRunning(s);
  const agent = agentStatusOf(o.agent, s.pod);
  const wanted = wantedConditions(raw, s, guest);
  if (agent.condition) wanted.push(agent.condition);
  const conditions = buildConditions(wanted, prev.conditions, o.now, generation);
  const created = actions.some((a) => a.kind === "createPod");
  const startFailure = s.startFailure === null ? undefined : (s.startFailure ?? prev.startFailure);
  // A new pod is a new run: the record of the last one goes.
  const lastRun = created || s.lastRun === null ? undefined : (s.lastRun ?? prev.lastRun);
  const restartCount = created
    ? prev.restartCount === undefined
      ? 0
      : prev.restartCount + 1
    : prev.restartCount;
  const restartRequest = raw.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  const restartedAt = created ? restartRequest : (s.pod?.restartedAt ?? prev.restartedAt);
  const interfaces = withGuestIps(r ? interfacesOf(r, s.pod) : prev.interfaces, o.agent, s.pod);
  const ipAddress = interfaces?.[0]?.ips?.[0];
  const launcherPod = s.createdPod ?? s.pod?.name;
  return {
    phase: s.phase,
    printableStatus: s.printable,
    conditions,
    observedGeneration: generation,
    ...(s.pod?.nodeName && !created ? { nodeName: s.pod.nodeName } : {}),
    ...(launcherPod ? { launcherPod } : {}),
    ...(interfaces?.length ? { interfaces } : {}),
    ...(ipAddress ? { ipAddress } : {}),
    ...agent.fields,
    ready: guest.ok,
    ...(restartCount !== undefined ? { restartCount } : {}),
    ...(restartedAt !== undefined ? { restartedAt } : {}),
    ...(startFailure ? { startFailure } : {}),
    ...(lastRun ? { lastRun } : {}),
    ...startLatency(raw, prev, o, s),
  };
}

/** The conditions the situation asks for; {@link buildConditions} keeps transition times. */
function wantedConditions(raw: RawVm, s: Situation, guest: { ok: boolean } & Reason): ConditionInput[] {
  const wanted: ConditionInput[] = [
    {
      type: "Ready",
      status: s.ready.ok ? "True" : "False",
      reason: s.ready.reason,
      message: s.ready.message,
    },
    {
      type: "GuestReady",
      status: guest.ok ? "True" : "False",
      reason: guest.reason,
      message: guest.message,
    },
  ];
  wanted.push(pausedCondition(raw, s));
  if (s.failure) wanted.push({ type: "Failure", status: "True", ...s.failure });
  if (s.restartRequired)
    wanted.push({
      type: "RestartRequired",
      status: "True",
      reason: "SpecChanged",
      message: s.restartRequired,
    });
  if (s.reconciling) wanted.push({ type: "Reconciling", status: "True", ...s.reconciling });
  if (s.stalled) wanted.push({ type: "Stalled", status: "True", ...s.stalled });
  return wanted;
}

/** GuestReady for the situations without a live guest: the VM's own reason when it is on its way. */
function notRunning(s: Situation): { ok: false } & Reason {
  if (!s.ready.ok) return { ok: false, reason: s.ready.reason, message: s.ready.message };
  return { ok: false, reason: "NotRunning", message: `no guest runs: ${s.ready.message}` };
}

/** Paused is always reported, True only while a user's pause holds on the launcher pod it was made for. */
function pausedCondition(raw: RawVm, s: Pick<Situation, "paused" | "pod">): ConditionInput {
  if (s.paused) return { type: "Paused", status: "True", ...s.paused };
  const mark = pausedPod(raw.metadata.annotations);
  if (mark === undefined)
    return { type: "Paused", status: "False", reason: "NotPaused", message: "the guest is not paused" };
  const live = s.pod && !s.pod.terminating && s.pod.phase === "Running" ? s.pod : undefined;
  if (live && mark === live.uid)
    return {
      type: "Paused",
      status: "Unknown",
      reason: "NodeUnreachable",
      message: "the guest was paused, but its node is not responding",
    };
  return live
    ? {
        type: "Paused",
        status: "False",
        reason: "StaleMark",
        message: `the pause recorded on the VM was for launcher pod ${mark}, not for the running ${live.uid}`,
      }
    : {
        type: "Paused",
        status: "False",
        reason: "NotRunning",
        message: "a pause is recorded on the VM but its launcher is not running",
      };
}

function startLatency(raw: RawVm, prev: VmStatus, o: Observed, s: Situation): Partial<VmStatus> {
  if (s.printable !== "Running" || prev.printableStatus === "Running")
    return prev.createdToRunningSeconds !== undefined
      ? { createdToRunningSeconds: prev.createdToRunningSeconds }
      : {};
  const created = raw.metadata.creationTimestamp;
  const createdMs = typeof created === "string" ? Date.parse(created) : undefined;
  const from = o.startRequestedAt ?? (prev.restartCount ? s.pod?.createdAt : createdMs) ?? s.pod?.createdAt;
  if (from === undefined || Number.isNaN(from)) return {};
  return { createdToRunningSeconds: Math.max(0, Math.round(o.now - from) / 1000) };
}
