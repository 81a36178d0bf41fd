/** The executor: reads the live state, diffs the plan against it and runs only the difference. */
import { diffSteps, nftKey, type HostCommand } from "./diff.ts";
import type { NetHost } from "./host.ts";
import type { IpState } from "./live-state.ts";
import type { NetPlan } from "./plan-types.ts";

/**
 * Applies the plan's steps through `host` and returns the commands it ran (none when the namespace
 * already matches). All `ip` changes go first in one batch, then sysctls (a bridge's sysctl needs the
 * bridge), then nftables; no `ip` step depends on a sysctl or a ruleset.
 */
export async function applyPlan(plan: NetPlan, host: NetHost, ipState?: IpState): Promise<HostCommand[]> {
  const sysctlKeys = plan.steps.flatMap((s) => (s.op === "sysctl" ? [s.key] : []));
  const tables = plan.steps.flatMap((s) => (s.op === "nftables" ? [nftKey(s.family, s.table)] : []));
  const [ip, sysctls, nftDigests] = await Promise.all([
    ipState ?? host.readIp(),
    host.readSysctls(sysctlKeys),
    host.readNftDigests(tables),
  ]);
  const commands = diffSteps(plan.steps, { ...ip, sysctls, nftDigests });
  await host.ipBatch(commands.flatMap((c) => (c.kind === "ip" ? [c.line] : [])));
  await host.writeSysctls(
    commands.flatMap((c) => (c.kind === "sysctl" ? [{ key: c.key, value: c.value }] : [])),
  );
  for (const c of commands) if (c.kind === "nft") await host.nft(c.script);
  return commands;
}
