/**
 * `setupPodNetwork`: the privileged half, run by the `netsetup` init container (NET_ADMIN) or as root in
 * standalone mode. Reads the pod's facts, plans, applies idempotently and records the result in
 * `${runDir}/network.json` for the unprivileged launcher.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { applyPlan } from "./apply.ts";
import { nftKey, type HostCommand } from "./diff.ts";
import { NetworkError } from "./errors.ts";
import { parseNetworkStatus, parseResolvConf, podFactsSchema, type PodFacts } from "./facts.ts";
import type { NetHost } from "./host.ts";
import { factsFromState, type IpState } from "./live-state.ts";
import { NFT_TABLE } from "./nftables.ts";
import { planNetwork } from "./plan.ts";
import { LAUNCHER_GID, LAUNCHER_UID, NETWORK_STATUS_PATH } from "../../crds/contract/index.ts";
import type { NetPlan } from "./plan-types.ts";
import { readNetworkState, writeNetworkState, type NetworkState } from "./state-file.ts";

/** What setup and start need from the pod besides the namespace itself. */
export interface PodFactSources {
  host: NetHost;
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
  /** Default {@link NETWORK_STATUS_PATH}; a missing or empty file means no Multus networks. */
  networkStatusPath?: string;
  /** How long to wait for the network-status file to fill when the VM has Multus NICs; default 60 s. */
  networkStatusWaitMs?: number;
  /**
   * The two files' contents, read elsewhere: the node agent gets them from the launcher and must not read
   * the node's own /etc/resolv.conf. Given, they replace the paths (and the network-status wait).
   */
  texts?: { resolvConf: string; networkStatus?: string | undefined };
}

/**
 * Waits until the downward-API network-status file has content. Multus writes the annotation during sandbox
 * setup, after the kubelet first wrote the file, and the kubelet fills it only on a later refresh; planning
 * from the empty file would fail every Multus VM's first start.
 */
export async function waitForNetworkStatus(path: string, waitMs: number, pollMs = 250): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if ((await optionalFile(path))?.trim()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Where setup keeps its record; default `${runDir}/network.json` (the node agent keeps its own). */
export interface NetworkStateStore {
  read(): Promise<NetworkState | undefined>;
  write(state: NetworkState): Promise<void>;
}

/** Dependencies of {@link setupPodNetwork}. */
export interface SetupDeps extends PodFactSources {
  /** Owner of the taps (the launcher container's user); default 107:107. */
  uid?: number;
  gid?: number;
  logger?: Logger;
  store?: NetworkStateStore;
  /** Checks the plan before the first change and throws to refuse it (the node agent's confinement). */
  vet?: (plan: NetPlan) => void;
}

/** What setup did, with the figures for logs and metrics. */
export interface SetupResult {
  plan: NetPlan;
  facts: PodFacts;
  /** `stored` when a previous run in this namespace had already moved the pod's addresses. */
  factsSource: "live" | "stored";
  /** Commands run; empty when the namespace already matched the plan. */
  commands: HostCommand[];
  /** Optional changes that could not be made (see {@link applyPlan}); the plan's own warnings are in `plan`. */
  warnings: string[];
  /** Reading facts plus planning, and applying, in milliseconds. */
  planMs: number;
  applyMs: number;
}

async function optionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NetworkError("FACTS_INVALID", `cannot read ${path}`, { cause: err });
  }
}

/** Reads the pod's facts as the namespace shows them now. */
export async function readLiveFacts(
  src: PodFactSources,
  ip?: IpState,
): Promise<{ ip: IpState; facts: PodFacts }> {
  const statusPath = src.networkStatusPath ?? NETWORK_STATUS_PATH;
  const [state, resolv, status] = await Promise.all([
    ip ?? src.host.readIp(),
    src.texts ? src.texts.resolvConf : optionalFile(src.resolvConfPath ?? "/etc/resolv.conf"),
    src.texts ? src.texts.networkStatus : optionalFile(statusPath),
  ]);
  let networkStatus: PodFacts["networkStatus"];
  if (status?.trim()) {
    try {
      networkStatus = parseNetworkStatus(status);
    } catch (cause) {
      throw new NetworkError("FACTS_INVALID", `${statusPath} is not a Multus network-status list`, { cause });
    }
  }
  const facts = podFactsSchema.parse({
    ...factsFromState(state),
    dns: parseResolvConf(resolv ?? ""),
    ...(networkStatus ? { networkStatus } : {}),
  });
  return { ip: state, facts };
}

/**
 * Which facts to plan from. A bridge of the recorded plan in the namespace means an earlier run has
 * already applied it here (the pod IP may be gone from eth0), so the recorded facts hold; otherwise the
 * namespace is fresh (a new pod sandbox brings a new namespace) and the live facts hold.
 */
export function chooseFacts(
  stored: NetworkState | undefined,
  live: PodFacts,
  ip: IpState,
): { facts: PodFacts; source: "live" | "stored" } {
  const ours = (name: string) => ip.links.some((l) => l.name === name);
  const storedBridges = stored?.plan.steps.flatMap((s) => (s.op === "bridge" ? [s.name] : [])) ?? [];
  if (stored && storedBridges.some(ours)) return { facts: stored.facts, source: "stored" };
  const foreign = ip.links.find((l) => l.name.startsWith("k6t-"));
  if (foreign)
    throw new NetworkError(
      "FACTS_INVALID",
      `the namespace already has ${foreign.name} but no record of the setup that made it; the pod's original ` +
        `addresses are unknown (delete the pod to start over)`,
    );
  return { facts: live, source: "live" };
}

/**
 * Sets the pod's network up for `config` and records plan and facts in `${runDir}/network.json`.
 * Idempotent: a second run in the same namespace runs no command. Errors before the first change leave
 * the namespace untouched.
 */
export async function setupPodNetwork(config: LauncherConfig, deps: SetupDeps): Promise<SetupResult> {
  if (!deps.texts && config.interfaces.some((i) => i.network.kind === "multus")) {
    const path = deps.networkStatusPath ?? NETWORK_STATUS_PATH;
    if (!(await waitForNetworkStatus(path, deps.networkStatusWaitMs ?? 60_000)))
      deps.logger?.warn({ path }, "Multus network-status is still empty; planning without it");
  }
  const t0 = performance.now();
  const runDir = config.paths.runDir;
  // The masquerade table is read alongside the facts: one process start less on the critical path.
  const tables = config.interfaces.some((i) => i.network.kind === "pod" && i.binding === "masquerade")
    ? [nftKey("ip", NFT_TABLE)]
    : [];
  const store = deps.store ?? {
    read: () => readNetworkState(runDir),
    write: (state: NetworkState) => writeNetworkState(runDir, state),
  };
  const [live, stored, nftDigests] = await Promise.all([
    readLiveFacts(deps),
    store.read(),
    deps.host.readNftDigests(tables),
  ]);
  const { facts, source } = chooseFacts(stored, live.facts, live.ip);
  const plan = planNetwork(config, facts, { uid: deps.uid ?? LAUNCHER_UID, gid: deps.gid ?? LAUNCHER_GID });
  deps.vet?.(plan);
  const t1 = performance.now();
  // Recorded before the first change, so a crash mid-way still knows the pod's original addresses.
  await store.write({ version: 1, applied: false, facts, plan });
  const { commands, warnings } = await applyPlan(plan, deps.host, { ip: live.ip, nftDigests });
  await store.write({ version: 1, applied: true, facts, plan });
  const t2 = performance.now();
  const result = { plan, facts, factsSource: source, commands, warnings, planMs: t1 - t0, applyMs: t2 - t1 };
  deps.logger?.info(
    {
      factsSource: source,
      commands: commands.length,
      planMs: Math.round(result.planMs),
      applyMs: Math.round(result.applyMs),
      warnings: [...plan.warnings, ...warnings],
    },
    "pod network set up",
  );
  return result;
}
