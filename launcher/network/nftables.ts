/**
 * The nftables rulesets of the bindings, as text for `nft -f`. One table per family, named `vireo`, holds
 * everything so a restart replaces it atomically and nothing else in the pod is touched: `ip vireo` for the
 * masquerade binding's NAT and filter, `bridge vireo` for the bridge binding's DHCP filter.
 */
import { createHash } from "node:crypto";

/** Name of the launcher's nftables table (family `ip`). */
export const NFT_TABLE = "vireo";

/** Ports a sidecar proxy of a service mesh (Istio) listens on; never forwarded in all-ports mode. */
export const MESH_PORTS = [15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090] as const;

/**
 * Source ports the pod's own connections leave the pod interface with (SNAT in postrouting), so that the
 * masquerade binding's stateless path (nftables-forward.ts) leaves their replies to the pod. Below Linux's
 * ephemeral range (32768–60999) and Windows' (49152–65535): a guest picks its source ports elsewhere
 * unless told otherwise.
 */
export const POD_SOURCE_PORTS = { first: 32000, last: 32767 } as const;

/** A forwarded port. */
export interface ForwardedPort {
  port: number;
  protocol: "TCP" | "UDP";
}

/** Inputs of {@link masqueradeRuleset}. */
export interface MasqueradeRules {
  /** The pod interface traffic enters and leaves by (eth0). */
  podInterface: string;
  /** The bridge the guest's tap is on. */
  bridge: string;
  podIp: string;
  /** The bridge's address: the guest's gateway. */
  gatewayIp: string;
  guestIp: string;
  /** Declared ports, or `all` with the ports to leave to the pod. */
  ports: { declared: ForwardedPort[] } | { allExcept: number[] };
  /** TCP ports something of ours listens on in the pod (launcher HTTP, VNC): the guest may not connect to them. */
  ownPorts: readonly number[];
}

const set = (values: readonly (string | number)[]) => `{ ${values.join(", ")} }`;

/** Destination-port matches per protocol: one rule per protocol that has ports. */
function portMatches(ports: MasqueradeRules["ports"]): string[] {
  if ("allExcept" in ports) {
    const except = [...new Set(ports.allExcept)].sort((a, b) => a - b);
    return ["tcp", "udp"].map((p) => (except.length ? `${p} dport != ${set(except)}` : `meta l4proto ${p}`));
  }
  const out: string[] = [];
  for (const proto of ["TCP", "UDP"] as const) {
    const list = ports.declared
      .filter((p) => p.protocol === proto)
      .map((p) => p.port)
      .sort((a, b) => a - b);
    if (list.length) out.push(`${proto.toLowerCase()} dport ${set(list)}`);
  }
  return out;
}

/**
 * The table body (without the `table` wrapper). Traffic between the pod network and the guest does not pass
 * here: the `netdev vireo` table moves it (nftables-forward.ts), so no forwarding is needed. Why each rule:
 * - output: connections made inside the pod (a sidecar proxy, probes run in the pod, `kubectl
 *   port-forward` to 127.0.0.1) to the pod IP or 127.0.0.1 reach the guest; locally made packets are
 *   routed out of the bridge without forwarding.
 * - postrouting: those from 127.0.0.1 are rewritten to the gateway so the guest can answer them (needs
 *   route_localnet on the bridge); the pod's own connections to the pod network leave from
 *   {@link POD_SOURCE_PORTS}, whose replies the netdev table leaves to the pod.
 * - input (the guest is hostile): the launcher's DHCP server never hears UDP/67 from the pod network (the
 *   guest's bridge and any Multus NIC's bridge are the way in); the guest opens nothing of the pod's loopback (route_localnet would otherwise
 *   let it reach 127.0.0.1, where VNC listens) and none of our ports, except as replies to connections
 *   made from the pod (which arrive for 127.0.0.1 after the gateway SNAT is undone).
 */
function body(r: MasqueradeRules): string {
  const matches = portMatches(r.ports);
  const lines = [
    "\tchain output {",
    "\t\ttype nat hook output priority -90; policy accept;",
    ...matches.map((m) => `\t\tip daddr ${set(["127.0.0.1", r.podIp])} ${m} dnat to ${r.guestIp}`),
    "\t}",
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority 110; policy accept;",
    `\t\tip saddr ${r.podIp} oifname "${r.podInterface}" meta l4proto { tcp, udp } snat to ${r.podIp}:${POD_SOURCE_PORTS.first}-${POD_SOURCE_PORTS.last}`,
    `\t\tip saddr 127.0.0.1 oifname "${r.bridge}" snat to ${r.gatewayIp}`,
    "\t}",
    "\tchain input {",
    "\t\ttype filter hook input priority 0; policy accept;",
    // From the pod network only: a Multus NIC's bridge carries its own guest's DHCP (filtered by its bridge table).
    `\t\tiifname "${r.podInterface}" udp dport 67 drop`,
    `\t\tiifname "${r.bridge}" ct state established,related accept`,
    `\t\tiifname "${r.bridge}" ip daddr 127.0.0.0/8 drop`,
    ...(r.ownPorts.length
      ? [`\t\tiifname "${r.bridge}" tcp dport ${set([...new Set(r.ownPorts)].sort((a, b) => a - b))} drop`]
      : []),
    "\t}",
  ];
  return lines.join("\n");
}

/**
 * The IPv6 half of the masquerade binding (`ip6 vireo`), for a pod with an IPv6 address: as the IPv4 table
 * but without the loopback hairpin (IPv6 has no `route_localnet`; ::1 cannot leave the pod, so
 * port-forward to 127.0.0.1 is IPv4's). Connections made inside the pod to the pod's IPv6 address reach
 * the guest; the pod's own IPv6 connections leave from {@link POD_SOURCE_PORTS}; the guest opens none of
 * our ports.
 */
export function masquerade6Ruleset(r: Omit<MasqueradeRules, "gatewayIp">): {
  ruleset: string;
  digest: string;
} {
  const own = [...new Set(r.ownPorts)].sort((a, b) => a - b);
  const lines = [
    "\tchain output {",
    "\t\ttype nat hook output priority -90; policy accept;",
    ...portMatches(r.ports).map((m) => `\t\tip6 daddr ${r.podIp} ${m} dnat to ${r.guestIp}`),
    "\t}",
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority 110; policy accept;",
    `\t\tip6 saddr ${r.podIp} oifname "${r.podInterface}" meta l4proto { tcp, udp } snat to [${r.podIp}]:${POD_SOURCE_PORTS.first}-${POD_SOURCE_PORTS.last}`,
    "\t}",
    "\tchain input {",
    "\t\ttype filter hook input priority 0; policy accept;",
    `\t\tiifname "${r.bridge}" ct state established,related accept`,
    `\t\tiifname "${r.bridge}" ip6 daddr ::1 drop`,
    ...(own.length ? [`\t\tiifname "${r.bridge}" tcp dport ${set(own)} drop`] : []),
    "\t}",
  ];
  return table("ip6", lines.join("\n"));
}

/** A table around `inner`, with the digest the executor compares to skip an unchanged table. */
function table(family: "ip" | "ip6" | "bridge", inner: string): { ruleset: string; digest: string } {
  const digest = createHash("sha256").update(inner).digest("hex").slice(0, 16);
  const ruleset = `table ${family} ${NFT_TABLE} {\n\tcomment "vireo ${digest}"\n${inner}\n}\n`;
  return { ruleset, digest };
}

/** The masquerade ruleset and its digest. */
export function masqueradeRuleset(r: MasqueradeRules): { ruleset: string; digest: string } {
  return table("ip", body(r));
}

/** Inputs of {@link bridgeDhcpRuleset}. */
export interface BridgeDhcpRules {
  /** The guest's tap, which DHCP replies from the pod network may not reach. */
  tap: string;
  /** The pod interface on the same bridge. */
  podInterface: string;
  /** With port-forward splices: the bridge address the launcher connects to the guest from, and the bridge's MAC. */
  splice?: { sourceIp: string; bridgeMac: string };
}

/**
 * The bridge binding's filter (family `bridge`: the guest's tap and the pod interface are ports of one
 * bridge, so only the bridge family tells them apart):
 * - input: DHCP requests never reach the launcher's server from the pod network (where any neighbour could
 *   send them, with the guest's MAC as chaddr), only from the guest's tap (or a Multus NIC's own bridge);
 * - forward: DHCP replies from the pod network never reach the guest, so a rogue server there cannot hand
 *   it another address; the guest's leases come from the launcher (which sends from the bridge itself).
 * - prerouting (with splices): the guest answers the launcher's connections from the bridge's link-local
 *   address through its default gateway (the address is off its subnet), i.e. to the gateway's MAC; such
 *   frames from the tap are taken for the bridge itself, as ebtables' redirect target does, instead of
 *   leaving for the pod network, where the address means nothing.
 */
export function bridgeDhcpRuleset(r: BridgeDhcpRules): { ruleset: string; digest: string } {
  return table(
    "bridge",
    [
      "\tchain input {",
      "\t\ttype filter hook input priority 0; policy accept;",
      // The pod interface only: the bridge family sees every bridge, and a Multus NIC's bridge carries
      // its own guest's DHCP.
      `\t\tiifname "${r.podInterface}" udp dport 67 drop`,
      "\t}",
      "\tchain forward {",
      "\t\ttype filter hook forward priority 0; policy accept;",
      `\t\tiifname "${r.podInterface}" oifname "${r.tap}" udp sport 67 udp dport 68 drop`,
      "\t}",
      ...(r.splice
        ? [
            "\tchain prerouting {",
            "\t\ttype filter hook prerouting priority -200; policy accept;",
            `\t\tiifname "${r.tap}" ip daddr ${r.splice.sourceIp} ether daddr set ${r.splice.bridgeMac} meta pkttype set host`,
            "\t}",
          ]
        : []),
    ].join("\n"),
  );
}
