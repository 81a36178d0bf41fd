/**
 * `--wait` of start/stop/restart, pure: reads one VM status and says done, failed (with the reason from the
 * status conditions) or still pending (with the state to show). Statuses older than the change the command
 * made (observedGeneration below the patched generation, or a restart request not acted on yet) are pending.
 */
import type { VmView } from "./vm-view.ts";

/** What the command waits for. */
export type WaitGoal = "running" | "stopped";

/** What the change made, so that older statuses are not read as its outcome. */
export interface WaitGate {
  /** metadata.generation after the patch. */
  generation: number | undefined;
  /** The vireo.dev/restartedAt request the command made, if any. */
  restartedAt?: string | undefined;
}

/** One judgement. */
export type WaitVerdict =
  | { kind: "done"; state: string }
  | { kind: "failed"; state: string; reason: string }
  | { kind: "pending"; state: string };

type Condition = NonNullable<NonNullable<VmView["status"]>["conditions"]>[number];

function cond(vm: VmView, type: string): Condition | undefined {
  return vm.status?.conditions?.find((c) => c.type === type);
}

/** "Starting", or "Running (GuestNotReady: …)" when Ready is false with a reason. */
function stateText(vm: VmView): string {
  const s = vm.status?.printableStatus ?? vm.status?.phase ?? "Unknown";
  const ready = cond(vm, "Ready");
  const guest = cond(vm, "GuestReady");
  const why = ready?.status === "False" ? ready : guest?.status === "False" ? guest : undefined;
  return why?.reason ? `${s} (${why.reason}${why.message ? `: ${why.message}` : ""})` : s;
}

/** Judges `vm` against `goal`. */
export function judgeWait(goal: WaitGoal, vm: VmView, gate: WaitGate): WaitVerdict {
  const status = vm.status;
  const state = status?.printableStatus ?? status?.phase ?? "Unknown";
  const fresh =
    status !== undefined &&
    (gate.generation === undefined || (status.observedGeneration ?? 0) >= gate.generation) &&
    (goal === "stopped" || gate.restartedAt === undefined || status["restartedAt"] === gate.restartedAt);
  if (!fresh)
    return {
      kind: "pending",
      state: status === undefined ? "no status yet" : `${state} (not reconciled yet)`,
    };
  const stalled = cond(vm, "Stalled");
  const failure = cond(vm, "Failure");
  if (stalled?.status === "True") {
    const why = failure?.status === "True" ? failure : stalled;
    const reason = [why.reason, why.message].filter((x) => x).join(": ");
    return { kind: "failed", state, reason: reason ? `${state}: ${reason}` : state };
  }
  if (goal === "stopped")
    return state === "Stopped" ? { kind: "done", state } : { kind: "pending", state: stateText(vm) };
  const guestReady = cond(vm, "GuestReady")?.status === "True" || status.ready === true;
  if (status.phase === "Running" && state === "Running" && guestReady) return { kind: "done", state };
  if (state === "Stopped" || status.phase === "Succeeded" || status.phase === "Failed") {
    // Started, then ended (a Once run, or a guest that powered off at once): it will not reach Running.
    const why =
      failure?.status === "True" ? [failure.reason, failure.message].filter((x) => x).join(": ") : "";
    return { kind: "failed", state, reason: `${state}${why ? `: ${why}` : " (the VM is not running)"}` };
  }
  return { kind: "pending", state: stateText(vm) };
}

/** Parses a duration like 90s, 5m, 1m30s, 1h or a bare number of seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (!m || text === "") return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
