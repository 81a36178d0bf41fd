/**
 * `npm run bench -- masquerade`: what the masquerade binding's forwarding-free path costs. Three network
 * namespaces play the peer pod, the launcher pod and the guest (a veth on the pod's bridge stands in for
 * QEMU's tap: the pod's side of the path is the same). iperf3 (Debian) measures throughput and ping the
 * round trip, for:
 *   - pod ↔ pod: the peer talking to the launcher pod itself (the reference the ratios are taken to);
 *   - forwarding: what masquerade did before — ip_forward=1, conntrack DNAT/masquerade in the ip family;
 *   - netdev: what it does now — ip_forward=0, the plan's own `netdev vireo` table (planNetwork);
 *   - bridge: the bridge binding's path (eth0 and the guest's port on one bridge), for the default's choice;
 *   - pod6 / netdev6: the same over IPv6 (a dual-stack pod; NAT66 to fd10:0:2::2 in the plan's netdev table).
 * Each figure is the median of the runs. Only namespaces made here are touched, and they are deleted.
 */
import { execFileSync, spawn } from "node:child_process";
import { planNetwork } from "../../launcher/network/plan.ts";
import type { PodFacts } from "../../launcher/network/facts.ts";
import { testLauncherConfig } from "../../launcher/network/testing/config.ts";
import { fmt, type Row, type SectionResult } from "../lib/report.ts";
import type { BenchContext } from "./context.ts";

const PEER_IP = "198.18.77.1";
const POD_IP = "198.18.77.5";
const GUEST_IP = "10.0.2.2";
const PORT = 5201;
const PEER_IP6 = "fd00:198:77::1";
const POD_IP6 = "fd00:198:77::5";

type Path = "pod" | "bridge" | "forwarding" | "netdev" | "pod6" | "netdev6";
const isV6 = (p: Path) => p.endsWith("6");

const sh = (args: string[], input?: string) =>
  execFileSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input ? { input } : {}) });

/** The namespaces and links of one path. */
function build(id: string, path: Path): { peer: string; pod: string; guest: string; destroy(): void } {
  const peer = `vb-${id}-peer`;
  const pod = `vb-${id}-pod`;
  const guest = `vb-${id}-guest`;
  const made: string[] = [];
  const destroy = () => made.forEach((n) => sh(["ip", "netns", "del", n]));
  const ip = (ns: string, line: string) => sh(["ip", "-n", ns, ...line.split(" ")]);
  try {
    for (const ns of [peer, pod, guest]) {
      sh(["ip", "netns", "add", ns]);
      made.push(ns);
      ip(ns, "link set lo up");
    }
    sh(["ip", "netns", "exec", pod, "sysctl", "-qw", `net.ipv4.ip_forward=${path === "forwarding" ? 1 : 0}`]);
    sh(["ip", "link", "add", "vbp", "netns", peer, "type", "veth", "peer", "name", "eth0", "netns", pod]);
    ip(peer, `addr add ${PEER_IP}/24 dev vbp`);
    ip(peer, "link set vbp up");
    ip(pod, `addr add ${POD_IP}/24 dev eth0`);
    ip(pod, "link set eth0 up");
    if (isV6(path)) {
      sh(["ip", "netns", "exec", pod, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0"]);
      ip(peer, `-6 addr add ${PEER_IP6}/64 dev vbp nodad`);
      ip(pod, `-6 addr add ${POD_IP6}/64 dev eth0 nodad`);
    }
    if (path === "pod" || path === "pod6") return { peer, pod, guest, destroy };
    if (path === "bridge") {
      // The bridge binding's data path: eth0 and the guest's port on one bridge, the guest holding the pod IP.
      ip(pod, `addr del ${POD_IP}/24 dev eth0`);
      ip(pod, "link add k6t-eth0 type bridge");
      ip(pod, "link set eth0 master k6t-eth0");
      sh(["ip", "link", "add", "tap0", "netns", pod, "type", "veth", "peer", "name", "eth0", "netns", guest]);
      ip(pod, "link set tap0 master k6t-eth0");
      for (const dev of ["tap0", "k6t-eth0"]) ip(pod, `link set ${dev} up`);
      ip(guest, `addr add ${POD_IP}/24 dev eth0`);
      ip(guest, "link set eth0 up");
      return { peer, pod, guest, destroy };
    }
    const config = testLauncherConfig("/run/vireo-bench", {
      binding: "masquerade",
      ports: [{ port: PORT, protocol: "TCP" }],
    });
    const mac = sh(["ip", "-n", pod, "-j", "link", "show", "eth0"]).match(/"address":"([^"]+)"/)![1]!;
    const v6 = isV6(path);
    const facts: PodFacts = {
      interfaces: [
        {
          name: "eth0",
          mac,
          mtu: 1500,
          addresses: [
            { family: 4, address: POD_IP, prefixLength: 24 },
            ...(v6 ? [{ family: 6 as const, address: POD_IP6, prefixLength: 64 }] : []),
          ],
        },
      ],
      routes: [
        { family: 4, dst: "198.18.77.0/24", dev: "eth0", scope: "link" },
        ...(v6 ? [{ family: 6 as const, dst: "fd00:198:77::/64", dev: "eth0" }] : []),
      ],
      dns: { nameservers: [], searches: [] },
    };
    const plan = planNetwork(config, facts);
    const bridgeMac = plan.steps.find((s) => s.op === "bridge")!.mac;
    const guestMac = config.interfaces[0]!.mac;
    ip(pod, `link add k6t-eth0 address ${bridgeMac} type bridge`);
    sh(["ip", "link", "add", "tap0", "netns", pod, "type", "veth", "peer", "name", "eth0", "netns", guest]);
    ip(pod, "link set tap0 master k6t-eth0");
    ip(pod, "link set tap0 up");
    ip(pod, "link set k6t-eth0 up");
    ip(pod, "addr add 10.0.2.1/24 dev k6t-eth0");
    ip(guest, `link set eth0 address ${guestMac}`);
    ip(guest, `addr add ${GUEST_IP}/24 dev eth0`);
    ip(guest, "link set eth0 up");
    ip(guest, "route add default via 10.0.2.1");
    if (v6) {
      ip(pod, "-6 addr add fd10:0:2::1/120 dev k6t-eth0 nodad");
      ip(guest, "-6 addr add fd10:0:2::2/120 dev eth0 nodad");
      ip(guest, "-6 route add default via fd10:0:2::1");
    }
    const nft = (ruleset: string) => sh(["ip", "netns", "exec", pod, "nft", "-f", "-"], ruleset);
    if (path === "netdev" || path === "netdev6") {
      for (const s of plan.steps) if (s.op === "nftables") nft(s.ruleset);
    } else {
      // The binding before it stopped forwarding (7e3356a^): conntrack DNAT in, masquerade out.
      nft(
        [
          "table ip vireo {",
          "\tchain prerouting {",
          "\t\ttype nat hook prerouting priority -90; policy accept;",
          `\t\tiifname "eth0" ip daddr ${POD_IP} tcp dport ${PORT} dnat to ${GUEST_IP}`,
          "\t}",
          "\tchain postrouting {",
          "\t\ttype nat hook postrouting priority 110; policy accept;",
          `\t\tip saddr ${GUEST_IP} oifname "eth0" masquerade`,
          "\t}",
          "}",
          "",
        ].join("\n"),
      );
    }
    return { peer, pod, guest, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** Bits per second of one iperf3 run from `client` to `server`'s listener at `target`. */
async function iperf(server: string, client: string, target: string, seconds: number, reverse: boolean) {
  const listener = spawn("ip", ["netns", "exec", server, "iperf3", "-s", "-1", "-p", String(PORT)], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const out = sh([
      "ip",
      "netns",
      "exec",
      client,
      "iperf3",
      "-c",
      target,
      "-p",
      String(PORT),
      "-t",
      String(seconds),
      "-J",
      ...(reverse ? ["-R"] : []),
    ]);
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second;
  } finally {
    listener.kill();
  }
}

/** Average round trip in ms of `count` pings from `from` to `to`. */
function ping(from: string, to: string, count: number): number {
  const out = sh([
    "ip",
    "netns",
    "exec",
    from,
    "busybox",
    "ping",
    "-q",
    "-c",
    String(count),
    "-i",
    "0.01",
    to,
  ]);
  return Number(/= [\d.]+\/([\d.]+)\//.exec(out)![1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the section. */
export async function masqueradeSection(ctx: BenchContext): Promise<SectionResult> {
  const runs = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 4;
  const figures: Record<Path, { inMbps: number; outMbps: number; egressMbps: number; rttMs: number }> =
    {} as never;
  for (const path of ["pod", "bridge", "forwarding", "netdev", "pod6", "netdev6"] as const) {
    const t = build(`${process.pid}`, path);
    try {
      // Inbound: the peer connects to the pod IP (a forwarded port); out: the same connection reversed;
      // egress: the guest connects to the peer (its own connection, SNAT/stateless translation).
      const inner = path === "pod" || path === "pod6" ? t.pod : t.guest;
      const [podIp, peerIp] = isV6(path) ? [POD_IP6, PEER_IP6] : [POD_IP, PEER_IP];
      const samples = {
        inMbps: [] as number[],
        outMbps: [] as number[],
        egressMbps: [] as number[],
        rtt: [] as number[],
      };
      for (let i = 0; i < runs; i++) {
        samples.inMbps.push((await iperf(inner, t.peer, podIp, seconds, false)) / 1e6);
        samples.outMbps.push((await iperf(inner, t.peer, podIp, seconds, true)) / 1e6);
        samples.egressMbps.push((await iperf(t.peer, inner, peerIp, seconds, false)) / 1e6);
        samples.rtt.push(ping(inner, peerIp, ctx.quick ? 50 : 200));
      }
      figures[path] = {
        inMbps: median(samples.inMbps),
        outMbps: median(samples.outMbps),
        egressMbps: median(samples.egressMbps),
        rttMs: median(samples.rtt),
      };
      ctx.log(`  ${path}: ${JSON.stringify(figures[path])}`);
    } finally {
      t.destroy();
    }
  }
  const rows: Row[] = [];
  for (const path of ["bridge", "forwarding", "netdev", "netdev6"] as const) {
    const f = figures[path];
    const ref = path === "netdev6" ? figures.pod6 : figures.pod;
    const name =
      path === "bridge"
        ? "bridge"
        : path === "netdev6"
          ? "masquerade (netdev, IPv6)"
          : `masquerade (${path})`;
    rows.push(
      {
        metric: `${name}: peer → guest, forwarded port`,
        value: `${fmt(f.inMbps, "Mbit/s", 0)} (${(f.inMbps / ref.inMbps).toFixed(2)} × pod↔pod)`,
      },
      {
        metric: `${name}: guest → peer, same connection`,
        value: `${fmt(f.outMbps, "Mbit/s", 0)} (${(f.outMbps / ref.outMbps).toFixed(2)} × pod↔pod)`,
      },
      {
        metric: `${name}: guest's own connection out`,
        value: `${fmt(f.egressMbps, "Mbit/s", 0)} (${(f.egressMbps / ref.egressMbps).toFixed(2)} × pod↔pod)`,
      },
      {
        metric: `${name}: ping guest → peer`,
        value: `${fmt(f.rttMs * 1000, "µs", 0)} (${(f.rttMs / ref.rttMs).toFixed(2)} × pod↔pod)`,
      },
    );
  }
  rows.push({ metric: "pod ↔ pod (reference): peer → pod", value: fmt(figures.pod.inMbps, "Mbit/s", 0) });
  rows.push({
    metric: "pod ↔ pod over IPv6 (reference): peer → pod",
    value: fmt(figures.pod6.inMbps, "Mbit/s", 0),
  });
  return {
    section: "masquerade",
    rows,
    notes: [
      `median of ${runs} runs of iperf3 -t ${seconds} (one TCP stream) and ping -i 0.01; veths stand in for QEMU's tap`,
      "forwarding = the binding before 7e3356a (ip_forward=1, conntrack NAT); netdev = the current plan's tables, ip_forward=0",
    ],
    data: figures,
  };
}
