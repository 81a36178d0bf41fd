/** `vireo start|stop|restart`: read the VM, plan a merge patch (pure), send it; retry if the VM changed meanwhile. */
import { isConflict, type VmClient } from "./kube.ts";
import { type LifecyclePlan, planRestart, planStart, planStop } from "./lifecycle-plan.ts";
import type { VmView } from "./vm-view.ts";

const PLANNERS = {
  start: (vm: VmView) => planStart(vm, new Date()),
  stop: (vm: VmView) => planStop(vm),
  restart: (vm: VmView) => planRestart(vm, new Date()),
} satisfies Record<string, (vm: VmView) => LifecyclePlan>;

/** Runs one lifecycle command and returns the line to print. */
export async function changeRunState(
  client: VmClient,
  command: keyof typeof PLANNERS,
  namespace: string,
  name: string,
): Promise<string> {
  // The patch carries the resourceVersion it was planned from; a concurrent change (the operator writes
  // status, which bumps it) means plan again from the fresh object.
  for (let attempt = 1; ; attempt++) {
    const vm = await client.getVm(namespace, name);
    const plan = PLANNERS[command](vm);
    if (plan.kind === "noop") return plan.message;
    try {
      await client.patchVm(namespace, name, plan.patch);
      return plan.message;
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}
