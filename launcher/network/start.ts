/**
 * `startNetwork`: the unprivileged half, run by the launcher. Reads the plan the setup step recorded
 * (or, for a passt-only VM that needs no setup, plans itself), serves DHCP, splices port-forwards to a
 * bridge-bound guest, starts passt, and returns
 * the NIC backends for the QEMU argv builder.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import type { Logger } from "pino";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedNic, RunningService } from "../prepared.ts";
import { startDhcpServer, type DhcpServer } from "./dhcp/server.ts";
import { NetworkError } from "./errors.ts";
import { passtArgs } from "./passt.ts";
import { planNeedsPrivilege, planNetwork } from "./plan.ts";
import { LAUNCHER_GID, LAUNCHER_UID, NODE_NETSETUP_PATH } from "../../crds/contract/index.ts";
import { requestNodeSetup } from "./node-client.ts";
import type { NetPlan, PlannedNic } from "./plan-types.ts";
import { startService } from "./service.ts";
import { startSplices, type Splices } from "./splice.ts";
import { readLiveFacts, type PodFactSources } from "./setup.ts";
import { readNetworkState } from "./state-file.ts";

/** Dependencies of {@link startNetwork}. */
export interface StartDeps extends Partial<PodFactSources> {
  /** Rewrites passt's argv before it is spawned (e.g. to run it in a namespace in a test). */
  wrap?: (argv: string[]) => string[];
  /** Whether vhost-net may be used; default: /dev/vhost-net is readable and writable. */
  vhost?: boolean;
  passtPath?: string;
  /** How long passt may take to create its socket; default 15 s. */
  startTimeoutMs?: number;
  /** DHCP server port (default 67; tests of the server alone use another). */
  dhcpPort?: number;
  /** The node agent's socket (default {@link NODE_NETSETUP_PATH}); asked when a plan needs privileges. */
  nodeSetupSocket?: string;
  logger?: Logger;
}

/** A helper the network started: the DHCP server (in-process, no pid) or a passt (child process). */
export interface NetworkService extends RunningService {
  /** Settles when a child process ends; the launcher treats that as fatal for the VM. */
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** DHCP replies sent, by type (DHCP server only). */
  dhcpCounts?: DhcpServer["counts"];
  /** Connections per spliced port (port-forward splice only). */
  spliceCounts?: Splices["counts"];
}

/** What the launcher gets back: the NICs for QEMU, the helpers to stop on exit, and the plan. */
export interface StartedNetwork {
  nics: PreparedNic[];
  services: NetworkService[];
  plan: NetPlan;
}

async function vhostUsable(): Promise<boolean> {
  try {
    await access("/dev/vhost-net", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function loadPlan(config: LauncherConfig, deps: StartDeps): Promise<NetPlan> {
  const state = await readNetworkState(config.paths.runDir);
  if (state?.applied) return state.plan;
  if (state)
    throw new NetworkError(
      "NOT_SET_UP",
      "the network setup started but did not finish (network.json says applied: false)",
    );
  if (!deps.host)
    throw new NetworkError(
      "NOT_SET_UP",
      `no ${config.paths.runDir}/network.json: the netsetup step did not run`,
    );
  // No setup record: fine only when nothing needs privileges (passt), so plan from what the pod shows.
  const { facts } = await readLiveFacts({ ...deps, host: deps.host });
  const plan = planNetwork(config, facts, { uid: LAUNCHER_UID, gid: LAUNCHER_GID });
  if (!planNeedsPrivilege(plan)) return plan;
  // No init container did it: the node agent does, when the device plugin mounted its socket here.
  const socket = deps.nodeSetupSocket ?? NODE_NETSETUP_PATH;
  if (await socketExists(socket)) {
    const files = {
      ...(deps.resolvConfPath ? { resolvConfPath: deps.resolvConfPath } : {}),
      ...(deps.networkStatusPath ? { networkStatusPath: deps.networkStatusPath } : {}),
    };
    return (await requestNodeSetup(config, socket, files)).plan;
  }
  throw new NetworkError(
    "NOT_SET_UP",
    `no ${config.paths.runDir}/network.json and no node network setup at ${socket}: the netsetup step did not run`,
  );
}

const socketExists = async (path: string) => (await stat(path).catch(() => undefined))?.isSocket() === true;

function preparedNic(nic: PlannedNic, vhost: boolean): PreparedNic {
  return {
    name: nic.name,
    mac: nic.mac,
    model: nic.model,
    backend:
      nic.backend.kind === "tap"
        ? { kind: "tap", ifname: nic.backend.ifname, vhost }
        : { kind: "passt", socketPath: nic.backend.socketPath },
    ...(nic.mtu !== undefined ? { mtu: nic.mtu } : {}),
    ...(nic.bootOrder !== undefined ? { bootOrder: nic.bootOrder } : {}),
  };
}

function dhcpService(server: DhcpServer): NetworkService {
  return { name: "dhcp", stop: () => server.close(), dhcpCounts: () => server.counts() };
}

/**
 * Starts the network helpers for `config` and returns the NIC backends. On failure every helper it
 * started is stopped again and a {@link NetworkError} is thrown, before QEMU would start.
 */
export async function startNetwork(config: LauncherConfig, deps: StartDeps = {}): Promise<StartedNetwork> {
  const plan = await loadPlan(config, deps);
  const wrap = deps.wrap ?? ((argv: string[]) => argv);
  const services: NetworkService[] = [];
  try {
    if (plan.dhcp) {
      const server = await startDhcpServer(plan.dhcp.leases, {
        ...(deps.dhcpPort !== undefined ? { port: deps.dhcpPort } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
      services.push(dhcpService(server));
    }
    if (plan.splices?.length) {
      const splices = await startSplices(plan.splices, deps.logger ? { logger: deps.logger } : {});
      services.push({
        name: "port-forward-splice",
        stop: () => splices.close(),
        spliceCounts: () => splices.counts(),
      });
    }
    for (const p of plan.passt) {
      services.push(
        await startService({
          name: `passt-${p.nic}`,
          argv: wrap([deps.passtPath ?? "passt", ...passtArgs(p)]),
          ready: () => socketExists(p.socketPath),
          timeoutMs: deps.startTimeoutMs ?? 15_000,
          ...(deps.logger ? { logger: deps.logger } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(services.map((s) => s.stop()));
    throw err;
  }
  const vhost = deps.vhost ?? (await vhostUsable());
  for (const w of plan.warnings) deps.logger?.warn({ warning: w }, "network plan warning");
  return { nics: plan.nics.map((n) => preparedNic(n, vhost)), services, plan };
}
