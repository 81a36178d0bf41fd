/**
 * The two halves of networking as their own processes, the way a pod runs them: the setup as root inside
 * the pod namespace (netsetup-side.ts), the launcher side as uid 107 without capabilities
 * (launcher-side.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LauncherConfig } from "../../../crds/launcher/config.ts";
import type { PreparedNic } from "../../prepared.ts";
import { asUnprivileged, startProcess, type TestProcess } from "./process.ts";
import type { Topology } from "./topology.ts";

/** The launcher side running in the pod namespace as uid 107 (see launcher-side.ts). */
export interface LauncherSide {
  process: TestProcess;
  nics: PreparedNic[];
  warnings: string[];
  /** Helpers with their pids (the in-process DHCP server has the launcher side's own pid). */
  services: { name: string; pid: number }[];
  /** SIGTERMs it and returns what it printed on the way out (DHCP reply counts). */
  stop(): Promise<{ dhcp?: Record<string, number>; splices?: Record<string, Record<string, number>> }>;
}

const LAUNCHER_SIDE = fileURLToPath(new URL("./launcher-side.ts", import.meta.url));

/**
 * Starts launcher-side.ts in the pod namespace as the unprivileged launcher user and waits until it has
 * started the network (or failed: then it throws with the error code it printed).
 */
export async function startLauncherSide(
  topo: Topology,
  config: LauncherConfig,
  timeoutMs = 60_000,
  networkStatusPath = "/nonexistent",
  /** The node agent's socket (no netsetup ran) and words put before the process (e.g. entering a cgroup). */
  node: { socket?: string; prefix?: string[] } = {},
): Promise<LauncherSide> {
  const configPath = join(topo.dir, `launcher-config-${randomBytes(2).toString("hex")}.json`);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o644 });
  const p = topo.track(
    startProcess([
      ...(node.prefix ?? []),
      ...asUnprivileged(topo.pod, topo.devices),
      process.execPath,
      "--import",
      "tsx",
      LAUNCHER_SIDE,
      configPath,
      topo.resolvConf,
      networkStatusPath,
      ...(node.socket ? [node.socket] : []),
    ]),
  );
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  for (;;) {
    const line = p
      .output()
      .split("\n")
      .find((l) => l.startsWith("{"));
    if (line) {
      const msg = JSON.parse(line) as {
        ready: boolean;
        nics?: PreparedNic[];
        warnings?: string[];
        services?: { name: string; pid: number }[];
        code?: string;
        message?: string;
      };
      if (!msg.ready) {
        await p.kill();
        throw Object.assign(new Error(`launcher side failed: ${msg.code}: ${msg.message}`), {
          code: msg.code,
        });
      }
      return {
        process: p,
        nics: msg.nics ?? [],
        warnings: msg.warnings ?? [],
        services: msg.services ?? [],
        async stop() {
          process.kill(p.pid, "SIGTERM");
          await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
          await p.kill();
          const last = p
            .output()
            .split("\n")
            .filter((l) => l.startsWith('{"stopped"'))
            .pop();
          return last
            ? (JSON.parse(last) as {
                dhcp?: Record<string, number>;
                splices?: Record<string, Record<string, number>>;
              })
            : {};
        },
      };
    }
    // One more look at the output after the process ended: it is complete only then.
    if (ended || Date.now() > deadline) {
      await p.kill();
      throw new Error(`launcher side did not start: ${p.output()}`);
    }
    ended = await Promise.race([
      p.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 50)),
    ]);
  }
}

/** What netsetup-side.ts reports. */
export interface NetsetupResult {
  ok: boolean;
  factsSource?: "live" | "stored";
  commands?: number;
  planMs?: number;
  applyMs?: number;
  warnings?: string[];
  applyWarnings?: string[];
  code?: string;
  field?: string;
  message?: string;
}

/** Options of {@link runNetsetupSide}. */
export interface NetsetupOptions {
  networkStatusPath?: string;
  /** Make /proc/sys read-only for the setup, as a container runtime does for a non-privileged container. */
  readOnlyProcSys?: boolean;
}

const NETSETUP_SIDE = fileURLToPath(new URL("./netsetup-side.ts", import.meta.url));

/** Runs the setup as the netsetup container would: root, inside the pod namespace, as its own process. */
export async function runNetsetupSide(
  topo: Topology,
  config: LauncherConfig,
  options: NetsetupOptions = {},
): Promise<NetsetupResult> {
  const configPath = join(topo.dir, `netsetup-config-${randomBytes(2).toString("hex")}.json`);
  await writeFile(configPath, JSON.stringify(config));
  const readOnly = options.readOnlyProcSys
    ? [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"',
        "sh",
      ]
    : [];
  const p = topo.track(
    startProcess([
      "ip",
      "netns",
      "exec",
      topo.pod,
      ...readOnly,
      process.execPath,
      "--import",
      "tsx",
      NETSETUP_SIDE,
      configPath,
      topo.resolvConf,
      ...(options.networkStatusPath ? [options.networkStatusPath] : []),
    ]),
  );
  await p.exited;
  const line = p
    .output()
    .split("\n")
    .find((l) => l.startsWith("{"));
  if (!line) throw new Error(`netsetup side printed no result: ${p.output()}`);
  return JSON.parse(line) as NetsetupResult;
}
