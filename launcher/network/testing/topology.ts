/**
 * Test fixtures for the network integration tests and for trying bindings by hand: a "pod" namespace
 * with eth0 on a veth to a "gw" namespace (node side, default gateway, HTTP client) and a "svc"
 * namespace behind it. Addresses come from 198.18.0.0/15 (benchmarking range) and exist only inside
 * these namespaces; nothing is routed to the machine's uplink. Not used by the launcher itself.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  LAUNCHER_HTTP_PORT,
  launcherConfigSchema,
  type LauncherConfig,
  type LauncherInterface,
} from "../../../crds/launcher/config.ts";
import { deriveMac } from "../../../crds/launcher/mac.ts";
import { podPaths } from "../../../crds/launcher/paths.ts";
import type { PreparedNic } from "../../prepared.ts";

/** Runs a command and returns stdout; throws with stderr on failure. */
export function sh(argv: readonly string[], input?: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.join(" ")}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve(stdout);
      },
    );
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}

/** A background process a test started; stopped by pid. */
export interface TestProcess {
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Starts a background process; its output is collected. */
export function startProcess(argv: readonly string[]): TestProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-65_536)));
  child.stderr.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-65_536)));
  const exited = new Promise<number | null>((resolve) => {
    // "close" rather than "exit": by then everything the process wrote has been read.
    child.once("close", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  if (child.pid === undefined) throw new Error(`cannot start ${argv[0]}`);
  const pid = child.pid;
  return {
    pid,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        return;
      }
      await exited;
    },
  };
}

/** Options of {@link createTopology}. */
export interface TopologyOptions {
  /** MTU of the pod's eth0 and its peer; default 1500. */
  mtu?: number;
  /** Give the pod an IPv4 address (default true). */
  ipv4?: boolean;
  /** Give the pod an IPv6 address too. */
  ipv6?: boolean;
  /** Leave eth0 out of the pod (it is then named `veth0`). */
  noEth0?: boolean;
}

/** The namespaces and addresses of one test. */
export interface Topology {
  /** Namespace names. */
  pod: string;
  gw: string;
  svc: string;
  podIp: string;
  gwIp: string;
  svcIp: string;
  /** Scratch directory (resolv.conf, run dir), removed by destroy. */
  dir: string;
  resolvConf: string;
  runDir: string;
  /** Runs a command inside namespace `ns`. */
  exec(ns: string, argv: readonly string[], input?: string): Promise<string>;
  /** Kills the processes the test registered, deletes the namespaces and the scratch directory. */
  destroy(): Promise<void>;
  /** Registers a process to kill in destroy. */
  track(p: TestProcess): TestProcess;
}

/** The pod IP and the rest of the fixed plan of the topology. */
export const TOPOLOGY = {
  podIp: "198.18.1.10",
  gwIp: "198.18.1.1",
  svcGwIp: "198.18.2.1",
  svcIp: "198.18.2.2",
  podIp6: "fd00:198:18:1::10",
  nameserver: "198.18.2.53",
  search: ["ns1.svc.cluster.local", "svc.cluster.local"],
} as const;

/** Builds the namespaces; on any failure it removes what it made. */
export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  const id = randomBytes(3).toString("hex");
  const pod = `vn-${id}-pod`;
  const gw = `vn-${id}-gw`;
  const svc = `vn-${id}-svc`;
  const dir = await mkdtemp(join(tmpdir(), `vireo-net-${id}-`));
  // The launcher's user (107) reaches its run dir and the guest files below it.
  await chmod(dir, 0o755);
  const runDir = join(dir, "run");
  await mkdir(runDir, { mode: 0o777 });
  await chmod(runDir, 0o777);
  const resolvConf = join(dir, "resolv.conf");
  await writeFile(
    resolvConf,
    `nameserver ${TOPOLOGY.nameserver}\nsearch ${TOPOLOGY.search.join(" ")}\noptions ndots:5\n`,
  );
  const processes: TestProcess[] = [];
  const made: string[] = [];
  const destroy = async () => {
    await Promise.all(processes.map((p) => p.kill()));
    for (const ns of made.reverse()) await sh(["ip", "netns", "del", ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const ip = (ns: string, args: string) => sh(["ip", "-n", ns, ...args.split(" ")]);
  const mtu = options.mtu ?? 1500;
  const podIf = options.noEth0 ? "veth0" : "eth0";
  try {
    for (const ns of [pod, gw, svc]) {
      await sh(["ip", "netns", "add", ns]);
      made.push(ns);
      await ip(ns, "link set lo up");
    }
    await sh([
      "ip",
      "link",
      "add",
      `vn${id}p`,
      "netns",
      pod,
      "mtu",
      String(mtu),
      "type",
      "veth",
      "peer",
      "name",
      "p0",
      "netns",
      gw,
      "mtu",
      String(mtu),
    ]);
    await ip(pod, `link set vn${id}p name ${podIf}`);
    await sh([
      "ip",
      "link",
      "add",
      `vn${id}s`,
      "netns",
      svc,
      "type",
      "veth",
      "peer",
      "name",
      "s0",
      "netns",
      gw,
    ]);
    await ip(svc, `link set vn${id}s name eth0`);
    for (const [ns, dev] of [
      [pod, podIf],
      [gw, "p0"],
      [gw, "s0"],
      [svc, "eth0"],
    ] as const)
      await ip(ns, `link set ${dev} up`);
    if (options.ipv4 !== false) {
      await ip(pod, `addr add ${TOPOLOGY.podIp}/24 dev ${podIf}`);
      await ip(pod, `route add default via ${TOPOLOGY.gwIp} dev ${podIf}`);
    }
    if (options.ipv6) {
      await sh(["ip", "netns", "exec", pod, "sysctl", "-q", "-w", `net.ipv6.conf.${podIf}.accept_dad=0`]);
      await ip(pod, `-6 addr add ${TOPOLOGY.podIp6}/64 dev ${podIf} nodad`);
      if (options.ipv4 === false) await ip(pod, `-6 route add default via fd00:198:18:1::1 dev ${podIf}`);
    }
    await ip(gw, `addr add ${TOPOLOGY.gwIp}/24 dev p0`);
    await ip(gw, `addr add fd00:198:18:1::1/64 dev p0 nodad`);
    await ip(gw, `addr add ${TOPOLOGY.svcGwIp}/24 dev s0`);
    await sh(["ip", "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    await ip(svc, `addr add ${TOPOLOGY.svcIp}/24 dev eth0`);
    await ip(svc, `route add default via ${TOPOLOGY.svcGwIp} dev eth0`);
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    pod,
    gw,
    svc,
    podIp: TOPOLOGY.podIp,
    gwIp: TOPOLOGY.gwIp,
    svcIp: TOPOLOGY.svcIp,
    dir,
    resolvConf,
    runDir,
    exec: (ns, argv, input) => sh(["ip", "netns", "exec", ns, ...argv], input),
    destroy,
    track(p) {
      processes.push(p);
      return p;
    },
  };
}

/** Argv prefix that runs a command in namespace `ns` as uid/gid `id` with no capabilities at all. */
export function asUnprivileged(ns: string, id = 107): string[] {
  return [
    "ip",
    "netns",
    "exec",
    ns,
    "setpriv",
    `--reuid=${id}`,
    `--regid=${id}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--bounding-set=-all",
  ];
}

/**
 * Starts an HTTP server in the "svc" namespace whose /cgi-bin/whoami answers with the client's address,
 * so a test can see which source address the guest's traffic arrived with.
 */
export async function startWhoami(topo: Topology, port = 8080): Promise<TestProcess> {
  const www = join(topo.dir, "svc-www");
  await mkdir(join(www, "cgi-bin"), { recursive: true });
  const script = join(www, "cgi-bin", "whoami");
  await writeFile(
    script,
    '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nclient=%s\\n" "$REMOTE_ADDR"\n',
  );
  await chmod(script, 0o755);
  const p = topo.track(
    startProcess([
      "ip",
      "netns",
      "exec",
      topo.svc,
      "busybox",
      "httpd",
      "-f",
      "-p",
      `${topo.svcIp}:${port}`,
      "-h",
      www,
    ]),
  );
  return p;
}

/** A launcher config with one pod-network NIC, for tests. */
export function testLauncherConfig(
  runDir: string,
  nic: Partial<LauncherInterface> & Pick<LauncherInterface, "binding">,
  extra: LauncherInterface[] = [],
): LauncherConfig {
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "default", name: "testvm", uid: "00000000-0000-0000-0000-000000000001" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "max" },
    memory: { guestBytes: 256 << 20 },
    boot: { kind: "bios" },
    disks: [],
    interfaces: [
      {
        name: "default",
        mac: deriveMac("default", "testvm", "default"),
        model: "virtio",
        ports: [],
        network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
        ...nic,
      },
      ...extra,
    ],
    devices: {
      serialConsole: true,
      vnc: false,
      rng: false,
      balloon: { enabled: false, statsPollSeconds: 0 },
    },
    terminationGracePeriodSeconds: 30,
    paths: { ...podPaths(), runDir },
    http: { port: LAUNCHER_HTTP_PORT },
  });
}

/** The launcher side running in the pod namespace as uid 107 (see launcher-side.ts). */
export interface LauncherSide {
  process: TestProcess;
  nics: PreparedNic[];
  warnings: string[];
  /** Helpers with their pids (the in-process DHCP server has the launcher side's own pid). */
  services: { name: string; pid: number }[];
  /** SIGTERMs it and returns what it printed on the way out (DHCP reply counts). */
  stop(): Promise<{ dhcp?: Record<string, number> }>;
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
): Promise<LauncherSide> {
  const configPath = join(topo.dir, `launcher-config-${randomBytes(2).toString("hex")}.json`);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o644 });
  const p = topo.track(
    startProcess([
      ...asUnprivileged(topo.pod),
      process.execPath,
      "--import",
      "tsx",
      LAUNCHER_SIDE,
      configPath,
      topo.resolvConf,
      networkStatusPath,
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
          return last ? (JSON.parse(last) as { dhcp?: Record<string, number> }) : {};
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

/**
 * The pod namespace's network state, without what changes on its own (timers, counters, dynamic
 * neighbours): link identities (ifindex changes when a link is re-created), attributes, addresses,
 * routes, permanent neighbours, the nftables ruleset with its handles (which change when a table is
 * replaced) and the sysctls the plans touch.
 */
export async function snapshot(topo: Topology): Promise<unknown> {
  type J = Record<string, unknown>;
  const ipj = async (...args: string[]) =>
    JSON.parse(await topo.exec(topo.pod, ["ip", "-json", ...args])) as J[];
  const links = (await ipj("-details", "link", "show")).map((l) => {
    const info = (l.linkinfo ?? {}) as J;
    const data = (info.info_data ?? {}) as J;
    const slave = (info.info_slave_data ?? {}) as J;
    return {
      ifindex: l.ifindex,
      name: l.ifname,
      kind: info.info_kind,
      mac: l.address,
      mtu: l.mtu,
      flags: l.flags,
      master: l.master,
      learning: slave.learning,
      owner: info.info_kind === "tun" ? [data.user, data.group] : undefined,
    };
  });
  const addrs = (await ipj("addr", "show")).flatMap((l) =>
    ((l.addr_info ?? []) as J[]).map((a) => `${String(l.ifname)} ${String(a.local)}/${String(a.prefixlen)}`),
  );
  const neigh = (await ipj("neigh", "show")).filter((n) =>
    (n.state as string[] | undefined)?.includes("PERMANENT"),
  );
  const sysctls = await topo.exec(topo.pod, [
    "sysctl",
    "-e",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
  ]);
  return {
    links,
    addrs,
    routes4: await ipj("route", "show"),
    routes6: await ipj("-6", "route", "show"),
    neigh,
    nft: JSON.parse(await topo.exec(topo.pod, ["nft", "-j", "list", "ruleset"])) as unknown,
    sysctls,
  };
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

/** A Multus-like secondary attachment: `net1` in the pod on a veth to `m1` in the gw namespace. */
export interface SecondaryNetwork {
  podInterface: string;
  podIp?: string;
  peerIp: string;
  /** The network-status annotation file (as the downward API writes it). */
  networkStatusPath: string;
}

/**
 * Attaches a secondary network to the pod the way Multus would (interface `net1`, address optional)
 * and writes the network-status annotation naming it `default/<name>`.
 */
export async function addSecondaryNetwork(
  topo: Topology,
  name: string,
  withAddress: boolean,
): Promise<SecondaryNetwork> {
  const id = randomBytes(3).toString("hex");
  await sh([
    "ip",
    "link",
    "add",
    `vm${id}`,
    "netns",
    topo.pod,
    "type",
    "veth",
    "peer",
    "name",
    "m1",
    "netns",
    topo.gw,
  ]);
  await sh(["ip", "-n", topo.pod, "link", "set", `vm${id}`, "name", "net1"]);
  await sh(["ip", "-n", topo.pod, "link", "set", "net1", "up"]);
  await sh(["ip", "-n", topo.gw, "link", "set", "m1", "up"]);
  const podIp = "192.168.77.7";
  const peerIp = "192.168.77.1";
  await sh(["ip", "-n", topo.gw, "addr", "add", `${peerIp}/24`, "dev", "m1"]);
  if (withAddress) await sh(["ip", "-n", topo.pod, "addr", "add", `${podIp}/24`, "dev", "net1"]);
  const mac = (
    JSON.parse(await topo.exec(topo.pod, ["ip", "-json", "link", "show", "net1"])) as { address: string }[]
  )[0]!.address;
  const networkStatusPath = join(topo.dir, "network-status");
  await writeFile(
    networkStatusPath,
    JSON.stringify([
      { name: "test-cni", interface: "eth0", ips: [TOPOLOGY.podIp], default: true },
      { name: `default/${name}`, interface: "net1", mac, ...(withAddress ? { ips: [podIp] } : {}) },
    ]),
    { mode: 0o644 },
  );
  return { podInterface: "net1", ...(withAddress ? { podIp } : {}), peerIp, networkStatusPath };
}
