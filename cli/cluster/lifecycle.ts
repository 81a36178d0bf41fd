/** `vireo start|stop|restart`: read the VM, plan a merge patch (pure), send it; retry if the VM changed meanwhile. */
import { ANNOTATION_RESTARTED_AT } from "../../crds/contract/index.ts";
import { isConflict, type VmClient } from "./kube.ts";
import { type LifecyclePlan, planRestart, planStart, planStop } from "./lifecycle-plan.ts";
import type { VmView } from "./vm-view.ts";
import type { WaitGate } from "./wait-plan.ts";

const PLANNERS = {
  start: (vm: VmView) => planStart(vm, new Date()),
  stop: (vm: VmView) => planStop(vm),
  restart: (vm: VmView) => planRestart(vm, new Date()),
} satisfies Record<string, (vm: VmView) => LifecyclePlan>;

/** What a lifecycle command did: the line to print and what `--wait` must see to count it done. */
export interface RunStateChange {
  message: string;
  gate: WaitGate;
}

/** Runs one lifecycle command and returns the line to print. */
export async function changeRunState(
  client: VmClient,
  command: keyof typeof PLANNERS,
  namespace: string,
  name: string,
): Promise<string> {
  return (await changeRunStateFor(client, command, namespace, name)).message;
}

/** Runs one lifecycle command; returns the line to print and the gate for `--wait`. */
export async function changeRunStateFor(
  client: VmClient,
  command: keyof typeof PLANNERS,
  namespace: string,
  name: string,
): Promise<RunStateChange> {
  // The patch carries the resourceVersion it was planned from; a concurrent change (the operator writes
  // status, which bumps it) means plan again from the fresh object.
  for (let attempt = 1; ; attempt++) {
    const vm = await client.getVm(namespace, name);
    const plan = PLANNERS[command](vm);
    if (plan.kind === "noop") return { message: plan.message, gate: { generation: vm.metadata.generation } };
    try {
      const after = await client.patchVm(namespace, name, plan.patch);
      const requested = (plan.patch["metadata"] as { annotations?: Record<string, unknown> } | undefined)
        ?.annotations?.[ANNOTATION_RESTARTED_AT];
      return {
        message: plan.message,
        gate: {
          generation: after.metadata.generation,
          ...(typeof requested === "string" ? { restartedAt: requested } : {}),
        },
      };
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}
