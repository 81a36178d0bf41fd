/** The Events a decision records: what it did, a status change worth telling, a new failure, a warning. */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { VirtualMachine } from "../../../crds/api/virtual-machine.ts";
import type { VmEvent } from "../../kube/events.ts";
import { boundMessage } from "../conditions.ts";
import type { Action, Observed } from "./inputs.ts";
import type { Printable, Situation } from "./situation.ts";

const WARNING_STATUSES: ReadonlySet<Printable> = new Set([
  "CrashLoopBackOff",
  "ErrorUnschedulable",
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrorPvcNotFound",
  "Failed",
  "InvalidSpec",
  "NodeUnreachable",
  "Unknown",
]);

/** Events for the move from `prev` to `next`. */
export function eventsFor(
  prev: VmStatus,
  next: VmStatus,
  s: Situation,
  actions: readonly Action[],
): VmEvent[] {
  const events: VmEvent[] = [];
  for (const a of actions) {
    if (a.kind === "createPod")
      events.push({
        type: "Normal",
        reason: "SuccessfulCreate",
        message: `created launcher pod ${a.pod.metadata?.name}`,
      });
    if (a.kind === "deletePod")
      events.push({
        type: "Normal",
        reason: "SuccessfulDelete",
        message: `deleted pod ${a.name}: ${a.reason}`,
      });
  }
  const prevFailure = prev.conditions?.find((c) => c.type === "Failure" && c.status === "True");
  const warn = WARNING_STATUSES.has(s.printable);
  // A pod created or deleted explains the move to Starting or Stopping; one event says it.
  const explained = !warn && events.length > 0;
  if (next.printableStatus !== prev.printableStatus && !explained) {
    events.push({
      type: warn ? "Warning" : "Normal",
      reason: s.printable,
      message: (warn && s.failure ? s.failure.message : undefined) ?? s.stalled?.message ?? s.ready.message,
    });
  } else if (s.failure && prevFailure?.message !== boundMessage(s.failure.message)) {
    events.push({ type: "Warning", reason: s.failure.reason, message: s.failure.message });
  }
  const hadRestartRequired = prev.conditions?.some(
    (c) => c.type === "RestartRequired" && c.status === "True",
  );
  if (s.restartRequired && !hadRestartRequired)
    events.push({ type: "Normal", reason: "RestartRequired", message: s.restartRequired });
  return events;
}

/**
 * Warnings about a start that goes ahead. microvm under emulation is warned about, not refused: it boots most of
 * the time, and with emulation allowed the launcher still uses KVM where the node has it; but under TCG on a
 * busy host the guest kernel can stall calibrating its clock (microvm has no HPET or ACPI PM timer).
 */
export function startWarnings(vm: VirtualMachine, o: Observed): VmEvent[] {
  if (!o.pod.emulation || vm.spec.machine.type !== "microvm") return [];
  return [
    {
      type: "Warning",
      reason: "MicrovmUnderEmulation",
      message:
        "machine type microvm with emulation (TCG) allowed: without KVM the guest kernel can stall at boot " +
        "calibrating its clock on a busy host (microvm has no HPET or ACPI PM timer); q35 is safer",
    },
  ];
}
