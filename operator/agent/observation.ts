/** The part of a launcher's agent report that VM status carries: what changes slowly. Pure. */
import type { AgentReport } from "../../crds/contract/index.ts";
import type { AgentObservation } from "../reconcile/decide/guest-agent.ts";

/**
 * Drops what changes on every poll (counters, the poll time, used bytes), so that a report that says the
 * same about the guest compares equal and causes no status write.
 */
export function observationOf(podUid: string, r: AgentReport): AgentObservation {
  const i = r.info;
  const info = {
    ...(i.agentVersion !== undefined ? { agentVersion: i.agentVersion } : {}),
    ...(i.hostname !== undefined ? { hostname: i.hostname } : {}),
    ...(i.timezone ? { timezone: i.timezone } : {}),
    ...(i.filesystems ? { filesystems: i.filesystems.map(({ usedBytes: _used, ...f }) => f) } : {}),
    ...(i.users ? { users: i.users } : {}),
  };
  return {
    podUid,
    connected: r.connected,
    reason: r.reason,
    message: r.message,
    ...(i.osInfo ? { osInfo: i.osInfo } : {}),
    info,
    ...(i.interfaces ? { interfaces: i.interfaces } : {}),
  };
}
