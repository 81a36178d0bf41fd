/**
 * Test fixtures for the network integration tests and for trying bindings by hand: a "pod" namespace
 * with eth0 on a veth to a "gw" namespace (node side, default gateway, HTTP client) and a "svc"
 * namespace behind it. Addresses come from 198.18.0.0/15 (benchmarking range) and exist only inside
 * these namespaces; nothing is routed to the machine's uplink. Not used by the launcher itself.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launcherDeviceNodes } from "./devices.ts";
import { type DeviceBind, sh, startProcess, type TestProcess } from "./process.ts";

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
  /** The launcher's /dev/kvm and /dev/net/tun as the device plugin makes them (see devices.ts). */
  devices: DeviceBind[];
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
  let devices: DeviceBind[] = [];
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
    // New namespaces on this machine start with forwarding on; a pod on a stock kubelet has it off (the
    // sysctl is unsafe), and no binding may need it.
    await sh(["ip", "netns", "exec", pod, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
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
      await ip(pod, `-6 route add default via fd00:198:18:1::1 dev ${podIf}`);
    }
    await ip(gw, `addr add ${TOPOLOGY.gwIp}/24 dev p0`);
    await ip(gw, `addr add fd00:198:18:1::1/64 dev p0 nodad`);
    await ip(gw, `addr add ${TOPOLOGY.svcGwIp}/24 dev s0`);
    await sh(["ip", "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    await ip(svc, `addr add ${TOPOLOGY.svcIp}/24 dev eth0`);
    await ip(svc, `route add default via ${TOPOLOGY.svcGwIp} dev eth0`);
    devices = await launcherDeviceNodes(join(dir, "device-nodes"));
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
    devices,
    exec: (ns, argv, input) => sh(["ip", "netns", "exec", ns, ...argv], input),
    destroy,
    track(p) {
      processes.push(p);
      return p;
    },
  };
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
