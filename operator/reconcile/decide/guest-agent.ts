/**
 * What the launcher's guest agent reported, rendered into VM status: `guestOSInfo`, `guestAgentInfo`, the
 * `AgentConnected` condition, and the guest's own IPs merged into `interfaces` (matched by MAC), so a
 * bridge-bound or Multus VM shows the addresses it really has. Only a report from the running launcher pod
 * counts (its uid); the shell (operator/agent/reader.ts) reads it at a modest interval. Pure.
 */
import type { GuestAgentStatus, GuestOsInfo } from "../../../crds/contract/guest-agent.ts";
import type { VmStatus } from "../../../crds/api/status.ts";
import type { ConditionInput } from "../conditions.ts";
import { boundMessage } from "../conditions.ts";
import type { PodView } from "../pod-view.ts";

/** The part of a launcher's agent report that status carries (what changes slowly). */
export interface AgentObservation {
  /** The launcher pod the report came from. */
  podUid: string;
  connected: boolean;
  reason: string;
  message: string;
  osInfo?: GuestOsInfo | undefined;
  info: GuestAgentStatus;
  interfaces?: { name: string; mac?: string | undefined; ips: string[] }[] | undefined;
}

/** The status fields from the agent, for a live pod whose report this is; empty otherwise. */
export function agentStatusOf(
  agent: AgentObservation | undefined,
  pod: PodView | undefined,
): { fields: Pick<VmStatus, "guestOSInfo" | "guestAgentInfo">; condition?: ConditionInput } {
  const live = pod && !pod.terminating && pod.phase === "Running" ? pod : undefined;
  if (!agent || !live || agent.podUid !== live.uid) return { fields: {} };
  const condition: ConditionInput = {
    type: "AgentConnected",
    status: agent.connected ? "True" : "False",
    reason: /^[A-Za-z][A-Za-z0-9]*$/.test(agent.reason) ? agent.reason : "Unknown",
    message: boundMessage(agent.message, 1024),
  };
  if (!agent.connected) return { fields: {}, condition };
  const info = Object.keys(agent.info).length ? agent.info : undefined;
  return {
    fields: {
      ...(agent.osInfo ? { guestOSInfo: agent.osInfo } : {}),
      ...(info ? { guestAgentInfo: info } : {}),
    },
    condition,
  };
}

/**
 * Status interfaces with the guest's addresses added: a guest NIC whose MAC matches gets the IPs the
 * guest has that the pod view did not list (link-local IPv6 included: it is the guest's).
 */
export function withGuestIps(
  interfaces: VmStatus["interfaces"],
  agent: AgentObservation | undefined,
  pod: PodView | undefined,
): VmStatus["interfaces"] {
  if (!interfaces || !agent?.connected || !agent.interfaces || pod?.uid !== agent.podUid) return interfaces;
  return interfaces.map((i) => {
    const mac = i.mac?.toLowerCase();
    const known = i.ips ?? [];
    // By MAC; else (bridge binding without Multus' network-status: the MAC is not known) by the pod IP
    // the guest holds.
    const guest = agent.interfaces!.find((g) =>
      mac ? g.mac?.toLowerCase() === mac : g.ips.some((ip) => known.includes(ip)),
    );
    if (!guest?.ips.length) return i;
    const added = guest.ips.filter((ip) => !known.includes(ip));
    const guestMac = !i.mac && guest.mac ? { mac: guest.mac.toLowerCase() } : {};
    return {
      ...i,
      ...guestMac,
      ips: [...known, ...added],
      infoSource: known.length ? "pod, guest-agent" : "guest-agent",
    };
  });
}
