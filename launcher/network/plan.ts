/**
 * `planNetwork`: from the launcher config and the pod's facts to a {@link NetPlan}, purely. Every error
 * a user can cause (missing interface, address family, port clash, subnet overlap) is raised here,
 * before anything in the pod is touched. One module per binding; this one combines them.
 */
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import { planBridge } from "./plan-bridge.ts";
import { DHCP_SERVER_PORT, field, type Part, type PlanOptions } from "./plan-common.ts";
// Taps are owned by the launcher container's user; the number is part of the operator–launcher contract.
import { LAUNCHER_GID, LAUNCHER_UID } from "../../crds/contract/index.ts";
import { planMasquerade } from "./plan-masquerade.ts";
import { planMultus } from "./plan-multus.ts";
import { planPasst } from "./plan-passt.ts";
import type { HostStep, NetPlan } from "./plan-types.ts";

export { bridgeName, guestRoutes, POD_INTERFACE, type PlanOptions } from "./plan-common.ts";

/**
 * Plans the pod's network for the config's interfaces. Pure: the same config and facts give the same
 * plan, so a launcher restart in the same pod re-applies an identical plan (the executor then changes
 * nothing). Throws {@link NetworkError} for anything the user must fix.
 */
export function planNetwork(
  config: LauncherConfig,
  facts: PodFacts,
  options: PlanOptions = { uid: LAUNCHER_UID, gid: LAUNCHER_GID },
): NetPlan {
  const podNics = config.interfaces.flatMap((n, i) => (n.network.kind === "pod" ? [i] : []));
  if (podNics.length > 1)
    throw new NetworkError(
      "BINDING_UNSUPPORTED",
      `only one interface can use the pod network (interfaces ${podNics.join(", ")} do)`,
      {
        field: field(podNics[1]!, ".network"),
      },
    );
  const parts = config.interfaces.map((nic, i): Part => {
    if (nic.network.kind === "multus") return planMultus(config, nic, i, facts, options);
    if (nic.binding === "bridge") return planBridge(config, nic, i, facts, options);
    if (nic.binding === "masquerade") return planMasquerade(config, nic, i, facts, options);
    return planPasst(config, nic, i, facts);
  });
  const leases = parts.flatMap((p) => (p.lease ? [p.lease] : []));
  const splices = parts.flatMap((p) => p.splices ?? []);
  const steps: HostStep[] = [];
  // The DHCP server and the splices run as the launcher's user: they may bind ports below 1024 once the
  // pod's (namespaced) limit allows.
  const low = Math.min(...splices.map((s) => s.port));
  if (leases.length)
    steps.push({
      op: "sysctl",
      key: "net.ipv4.ip_unprivileged_port_start",
      value: Math.min(DHCP_SERVER_PORT, low),
      mode: "atMost",
      purpose:
        low < DHCP_SERVER_PORT
          ? `the launcher's DHCP server (port 67) and port-forward splice (port ${low}) to bind without privileges`
          : "the launcher's DHCP server to bind port 67 without privileges",
    });
  steps.push(...parts.flatMap((p) => p.steps));
  return {
    version: 1,
    steps,
    nics: parts.map((p) => p.nic),
    ...(leases.length ? { dhcp: { leases } } : {}),
    passt: parts.flatMap((p) => (p.passt ? [p.passt] : [])),
    ...(splices.length ? { splices } : {}),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/** Whether applying the plan needs NET_ADMIN (false for passt-only VMs: no netsetup container then). */
export function planNeedsPrivilege(plan: NetPlan): boolean {
  return plan.steps.length > 0;
}
