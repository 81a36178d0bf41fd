/**
 * The masquerade binding's packet path without IP forwarding: a `netdev vireo` table whose ingress chains
 * move packets between the pod interface and the guest's tap themselves (`fwd`), translating the address
 * on the way, so the kernel's routing (and `net.ipv4.ip_forward`, an unsafe sysctl a stock kubelet refuses
 * and a read-only /proc/sys cannot take) is never asked to forward.
 *
 * The netdev family runs before conntrack, so the translation is stateless and one-to-one: the guest's
 * address stands for the pod IP in both directions. What decides whether a packet for the pod IP is the
 * guest's is therefore its destination port:
 * - ours (the launcher's HTTP port; a mesh's ports in all-ports mode) and {@link POD_SOURCE_PORTS}, the
 *   range the pod's own outgoing connections are mapped into (the `ip vireo` table's postrouting), stay
 *   with the pod;
 * - declared ports (or every other port in all-ports mode) go to the guest;
 * - with declared ports, other TCP segments go to the guest only when they are not a connection's first
 *   SYN (replies to the guest's own connections), and other UDP always (replies cannot be told apart
 *   without state) — the price of having no conntrack here, stated in docs/networking.md.
 */
import { createHash } from "node:crypto";
import { NFT_TABLE, POD_SOURCE_PORTS, type ForwardedPort } from "./nftables.ts";

/** A next hop on the pod interface for guest traffic to `dst` (`via` undefined: on-link). */
export interface NextHop {
  dst: string;
  via?: string;
}

/** One address family's side of the translation. */
export interface FamilyForward {
  podIp: string;
  guestIp: string;
  /** The guest's private subnet (its traffic to it is the bridge's, not the pod network's). */
  guestSubnet: string;
  /** Where the guest's packets leave for, most specific first (the pod's routes on its interface). */
  nextHops: readonly NextHop[];
}

/** Inputs of {@link masqueradeForwardRuleset}: a dual-stack pod has both families, a single-stack one one. */
export interface ForwardRules {
  podInterface: string;
  tap: string;
  guestMac: string;
  /** The bridge's MAC: what the guest knows as its gateway's. */
  bridgeMac: string;
  v4?: FamilyForward;
  /** NAT66 to the guest's ULA; the same stateless one-to-one translation as IPv4's. */
  v6?: FamilyForward;
  /** Declared ports, or all but the given ones. */
  ports: { declared: readonly ForwardedPort[] } | { allExcept: readonly number[] };
  /** Ports something of ours listens on at the pod IP (the launcher's HTTP port): never the guest's. */
  ownPorts: readonly number[];
}

const set = (values: readonly (string | number)[]) => `{ ${values.join(", ")} }`;
const range = `${POD_SOURCE_PORTS.first}-${POD_SOURCE_PORTS.last}`;

/** ICMP a guest needs to see for its own traffic (echo requests to the pod IP stay with the pod). */
const ICMP_TO_GUEST = ["echo-reply", "destination-unreachable", "time-exceeded", "parameter-problem"];
/** The same for ICMPv6, with packet-too-big (IPv6 routers never fragment); neighbour discovery stays with the pod. */
const ICMP6_TO_GUEST = [
  "echo-reply",
  "destination-unreachable",
  "packet-too-big",
  "time-exceeded",
  "parameter-problem",
];

/** Inbound matches, each followed by the translation to the guest. */
function inbound(r: ForwardRules): string[] {
  const all = "allExcept" in r.ports ? [...r.ports.allExcept, ...r.ownPorts] : r.ownPorts;
  const keep = set([...[...new Set(all)].sort((a, b) => a - b), range]);
  if ("allExcept" in r.ports) return ["tcp", "udp"].map((p) => `${p} dport != ${keep}`);
  const out: string[] = [];
  for (const proto of ["TCP", "UDP"] as const) {
    const list = r.ports.declared
      .filter((p) => p.protocol === proto)
      .map((p) => p.port)
      .sort((a, b) => a - b);
    if (list.length) out.push(`${proto.toLowerCase()} dport ${set(list)}`);
  }
  out.push(`tcp dport != ${keep} tcp flags & (syn | ack) != syn`, `udp dport != ${keep}`);
  return out;
}

/** Rules of one family: `ip` with its v4 spellings, `ip6` with its. */
function familyRules(r: ForwardRules, f: FamilyForward, ip: "ip" | "ip6") {
  const v6 = ip === "ip6";
  const toGuest = `${ip} daddr set ${f.guestIp} ether saddr set ${r.bridgeMac} ether daddr set ${r.guestMac} fwd to "${r.tap}"`;
  const local = v6
    ? [f.guestSubnet, f.podIp, "ff00::/8", "fe80::/10"]
    : [f.guestSubnet, f.podIp, "224.0.0.0/4", "255.255.255.255"];
  const fromGuest = `ether saddr ${r.guestMac} ${ip} saddr ${f.guestIp} ${ip} daddr != ${set(local)}`;
  const icmp = v6 ? `icmpv6 type ${set(ICMP6_TO_GUEST)}` : `icmp type ${set(ICMP_TO_GUEST)}`;
  const any = v6 ? "::/0" : "0.0.0.0/0";
  return {
    fromPod: [
      ...inbound(r).map((m) => `\t\t${ip} daddr ${f.podIp} ${m} ${toGuest}`),
      `\t\t${ip} daddr ${f.podIp} ${icmp} ${toGuest}`,
    ],
    fromGuest: [
      ...f.nextHops.map(
        (h) =>
          `\t\t${fromGuest}${h.dst === any ? "" : ` ${ip} daddr ${h.dst}`} ${ip} saddr set ${f.podIp} ` +
          `fwd ${ip} to ${h.via ?? `${ip} daddr`} device "${r.podInterface}"`,
      ),
      // Anything else from the guest's address is for nowhere the pod can reach: without this it would
      // enter the pod's stack, which (not forwarding) drops it anyway; say so here.
      `\t\t${fromGuest} drop`,
    ],
  };
}

function body(r: ForwardRules): string {
  const fams = [
    ...(r.v4 ? [familyRules(r, r.v4, "ip")] : []),
    ...(r.v6 ? [familyRules(r, r.v6, "ip6")] : []),
  ];
  return [
    "\tchain from-pod {",
    `\t\ttype filter hook ingress device "${r.podInterface}" priority 0; policy accept;`,
    ...fams.flatMap((f) => f.fromPod),
    "\t}",
    "\tchain from-guest {",
    `\t\ttype filter hook ingress device "${r.tap}" priority 0; policy accept;`,
    ...fams.flatMap((f) => f.fromGuest),
    "\t}",
  ].join("\n");
}

/** The `netdev vireo` table and its digest (recorded in the table comment, as for the other tables). */
export function masqueradeForwardRuleset(r: ForwardRules): { ruleset: string; digest: string } {
  const inner = body(r);
  const digest = createHash("sha256").update(inner).digest("hex").slice(0, 16);
  return { ruleset: `table netdev ${NFT_TABLE} {\n\tcomment "vireo ${digest}"\n${inner}\n}\n`, digest };
}
