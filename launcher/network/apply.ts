/** The executor: reads the live state, diffs the plan against it and runs only the difference. */
import { diffSteps, nftKey, nftReplaceScript, type HostCommand } from "./diff.ts";
import { NetworkError } from "./errors.ts";
import type { NetHost } from "./host.ts";
import type { IpState, LiveState } from "./live-state.ts";
import type { NetPlan } from "./plan-types.ts";

/** What applying did: the commands run and the optional changes that could not be made. */
export interface ApplyResult {
  /** Commands run; none when the namespace already matched the plan. */
  commands: HostCommand[];
  /** Optional sysctls that could not be set, with the feature that is missing as a result. */
  warnings: string[];
}

type SysctlCommand = Extract<HostCommand, { kind: "sysctl" }>;

/** State the caller has read already (to overlap reads with planning). */
export interface PrefetchedState {
  ip?: IpState;
  nftDigests?: LiveState["nftDigests"];
}

/**
 * Applies the plan's steps through `host`. Order: required sysctls first (global keys; a container with a
 * read-only /proc/sys then fails before anything else changed), then all `ip` changes in one batch
 * alongside the ip/bridge nftables transactions, then netdev tables (bound to links the batch made), then
 * optional sysctls (they may name a bridge the batch made). No `ip` step depends on a sysctl or a ruleset.
 */
export async function applyPlan(
  plan: NetPlan,
  host: NetHost,
  read: PrefetchedState = {},
): Promise<ApplyResult> {
  const sysctlKeys = plan.steps.flatMap((s) => (s.op === "sysctl" ? [s.key] : []));
  const tables = plan.steps.flatMap((s) => (s.op === "nftables" ? [nftKey(s.family, s.table)] : []));
  const prefetched = read.nftDigests;
  const [ip, sysctls, nftDigests] = await Promise.all([
    read.ip ?? host.readIp(),
    host.readSysctls(sysctlKeys),
    prefetched && tables.every((t) => t in prefetched) ? prefetched : host.readNftDigests(tables),
  ]);
  const commands = diffSteps(plan.steps, { ...ip, sysctls, nftDigests });
  const sysctlCommands = commands.filter((c): c is SysctlCommand => c.kind === "sysctl");
  for (const c of sysctlCommands.filter((c) => !c.optional)) {
    try {
      await host.writeSysctls([c]);
    } catch (cause) {
      throw new NetworkError(
        "APPLY_FAILED",
        `${c.key} must be ${c.value} for ${c.purpose}, and this container cannot set it ` +
          `(${(cause as Error).message}); set it as a pod sysctl (the kubelet must allow it) or give the ` +
          `setup a writable /proc/sys`,
        { cause },
      );
    }
  }
  // ip and bridge rules name interfaces as strings, so they need not wait for the links; a netdev
  // table's chains are bound to devices, which must exist first (the tap is made by the batch).
  // A link the batch re-made drops its netdev hooks while the table (and its digest) stays, so any batch
  // re-applies every netdev table.
  const lines = commands.flatMap((c) => (c.kind === "ip" ? [c.line] : []));
  const scripts = commands.flatMap((c) => (c.kind === "nft" ? [c.script] : []));
  const boundToDevices = (script: string) => script.startsWith("table netdev ");
  const netdev = lines.length
    ? plan.steps.flatMap((s) => (s.op === "nftables" && s.family === "netdev" ? [nftReplaceScript(s)] : []))
    : scripts.filter(boundToDevices);
  await Promise.all([
    host.ipBatch(lines),
    ...scripts.filter((s) => !boundToDevices(s)).map((s) => host.nft(s)),
  ]);
  for (const script of netdev) await host.nft(script);
  const warnings: string[] = [];
  for (const c of sysctlCommands.filter((c) => c.optional)) {
    try {
      await host.writeSysctls([c]);
    } catch (cause) {
      warnings.push(
        `${c.key}=${c.value} could not be set (${(cause as Error).message}); it is needed for ${c.purpose}`,
      );
    }
  }
  return { commands, warnings };
}
