/** The masquerade binding: the guest on a private subnet behind NAT on the pod's IP. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import { cidrsOverlap, networkOf, nthAddress, parseCidr4, type Cidr4 } from "./ipv4.ts";
import { cidrs6Overlap, parseCidr6 } from "./ipv6.ts";
import { MESH_PORTS, masquerade6Ruleset, masqueradeRuleset, NFT_TABLE } from "./nftables.ts";
import { masqueradeForwardRuleset, type NextHop } from "./nftables-forward.ts";
import {
  bridgeName,
  checkPorts,
  field,
  hostMac,
  hostnameOf,
  ipv4Of,
  ownPorts,
  ipv6Of,
  plannedNic,
  podInterface,
  v4Only,
  type Part,
  type PlanOptions,
} from "./plan-common.ts";

/** Parses and checks the masquerade guest subnet against the pod's addresses and routes. */
function guestSubnet(cidrText: string, i: number, facts: PodFacts): Cidr4 {
  const where = field(i, ".network.vmNetworkCIDR");
  const cidr = parseCidr4(cidrText);
  if (!cidr || !cidrText.includes("/"))
    throw new NetworkError("CIDR_INVALID", `"${cidrText}" is not an IPv4 CIDR like 10.0.2.0/24`, {
      field: where,
    });
  if (cidr.prefixLength > 30)
    throw new NetworkError(
      "CIDR_INVALID",
      `${cidrText} leaves no room for a gateway and a guest (use /30 or shorter)`,
      {
        field: where,
      },
    );
  if (networkOf(cidr) !== cidr.address)
    throw new NetworkError(
      "CIDR_INVALID",
      `${cidrText} has host bits set; the network is ${networkOf(cidr)}/${cidr.prefixLength}`,
      { field: where },
    );
  const taken: string[] = [];
  for (const iface of facts.interfaces)
    for (const a of ipv4Of(iface)) taken.push(`${networkOf(a)}/${a.prefixLength}`);
  for (const r of facts.routes) {
    if (r.family !== 4) continue;
    if (r.dst !== "default") taken.push(r.dst);
    if (r.gateway) taken.push(`${r.gateway}/32`);
  }
  for (const t of taken) {
    const other = parseCidr4(t);
    if (other && cidrsOverlap(cidr, other))
      throw new NetworkError(
        "CIDR_OVERLAP",
        `${cidrText} overlaps the pod's network ${t}; choose another vmNetworkCIDR`,
        {
          field: where,
        },
      );
  }
  return cidr;
}

/**
 * Where the guest's packets leave the pod interface for, most specific first: the pod's own IPv4 routes
 * on it (gatewayed or on-link) and its connected subnet. The netdev table resolves each next hop's MAC
 * through the pod's neighbour table, as routing would.
 */
export function nextHops(dev: string, v4: Cidr4, facts: PodFacts): NextHop[] {
  const hops: (NextHop & { prefix: number })[] = [];
  for (const r of facts.routes) {
    if (r.family !== 4 || r.dev !== dev) continue;
    const c = r.dst === "default" ? { address: "0.0.0.0", prefixLength: 0 } : parseCidr4(r.dst);
    if (!c) continue;
    const dst = `${networkOf(c)}/${c.prefixLength}`;
    hops.push({ dst, prefix: c.prefixLength, ...(r.gateway ? { via: r.gateway } : {}) });
  }
  const connected = `${networkOf(v4)}/${v4.prefixLength}`;
  if (v4.prefixLength < 32 && !hops.some((h) => h.dst === connected))
    hops.push({ dst: connected, prefix: v4.prefixLength });
  const seen = new Set<string>();
  return hops
    .sort((a, b) => b.prefix - a.prefix || a.dst.localeCompare(b.dst))
    .filter((h) => !seen.has(h.dst) && seen.add(h.dst))
    .map(({ dst, via }) => (via ? { dst, via } : { dst }));
}

/** The guest's IPv6 network behind NAT66 (KubeVirt's default): the bridge is ::1, the guest ::2. */
export const GUEST_SUBNET6 = { address: "fd10:0:2::", prefixLength: 120 } as const;
const GATEWAY6 = "fd10:0:2::1";
const GUEST6 = "fd10:0:2::2";

/** The pod's IPv6 routes on `dev` as next hops, most specific first (link-local ones are not the pod network's). */
export function nextHops6(dev: string, facts: PodFacts): NextHop[] {
  const hops = facts.routes
    .filter((r) => r.family === 6 && r.dev === dev)
    .map((r) => {
      const c = r.dst === "default" ? { address: "::", prefixLength: 0 } : parseCidr6(r.dst);
      return c && { dst: r.dst === "default" ? "::/0" : r.dst, prefix: c.prefixLength, via: r.gateway };
    })
    .filter((h) => h !== undefined);
  const seen = new Set<string>();
  return hops
    .sort((a, b) => b.prefix - a.prefix || a.dst.localeCompare(b.dst))
    .filter((h) => !seen.has(h.dst) && seen.add(h.dst))
    .map(({ dst, via }) => (via ? { dst, via } : { dst }));
}

/** Refuses a pod whose IPv6 networks or routes overlap the guest's ULA. */
function checkSubnet6(i: number, facts: PodFacts): void {
  const taken = [
    ...facts.interfaces.flatMap((x) => ipv6Of(x).map((a) => `${a.address}/${a.prefixLength}`)),
    ...facts.routes.flatMap((r) => (r.family === 6 && r.dst !== "default" ? [r.dst] : [])),
  ];
  for (const t of taken) {
    const other = parseCidr6(t);
    if (other && cidrs6Overlap(GUEST_SUBNET6, other))
      throw new NetworkError(
        "CIDR_OVERLAP",
        `the guest's IPv6 network ${GUEST_SUBNET6.address}/${GUEST_SUBNET6.prefixLength} overlaps the pod's network ${t}`,
        { field: field(i, ".binding") },
      );
  }
}

/** Plans a pod-network NIC with the masquerade binding: NAT on IPv4, NAT66 on IPv6, whichever the pod has. */
export function planMasquerade(
  config: LauncherConfig,
  nic: LauncherInterface,
  i: number,
  facts: PodFacts,
  opts: PlanOptions,
): Part {
  if (nic.network.kind !== "pod") throw new Error("unreachable: masquerade on a non-pod network");
  const iface = podInterface(facts, i);
  const v4 = ipv4Of(iface)[0];
  const v6addr = ipv6Of(iface)[0];
  if (!v4 && !v6addr)
    throw new NetworkError(
      "FAMILY_UNSUPPORTED",
      `the masquerade binding NATs the pod's addresses, but ${iface.name} has none`,
      { field: field(i, ".binding") },
    );
  checkPorts(config, nic, i);
  const subnet = v4 ? guestSubnet(nic.network.vmNetworkCIDR, i, facts) : undefined;
  if (v6addr) checkSubnet6(i, facts);
  const v6 = v6addr && { podIp: v6addr.address, gatewayIp: GATEWAY6, guestIp: GUEST6 };
  const gatewayIp = subnet && nthAddress(subnet, 1);
  const guestIp = subnet && nthAddress(subnet, 2);
  const bridge = bridgeName(iface.name);
  const tap = `tap${i}`;
  const hostname = hostnameOf(config);
  const layout: MasqueradeLayout = {
    iface,
    bridge,
    tap,
    ...(v4 && subnet && gatewayIp && guestIp ? { v4: { v4, subnet, gatewayIp, guestIp } } : {}),
    ...(v6 ? { v6 } : {}),
  };
  const extra = ipv6Of(iface).slice(1);
  return {
    steps: masqueradeSteps(config, nic, facts, opts, layout),
    nic: plannedNic(nic, nic.mac, iface.mtu, { kind: "tap", ifname: tap, bridge }, iface.name, [
      ...(guestIp ? [guestIp] : []),
      ...(v6 ? [v6.guestIp] : []),
    ]),
    ...(subnet && gatewayIp && guestIp
      ? {
          lease: {
            interface: bridge,
            serverAddress: gatewayIp,
            mac: nic.mac,
            ip: guestIp,
            prefixLength: subnet.prefixLength,
            router: gatewayIp,
            routes: [],
            dns: v4Only(facts.dns.nameservers),
            search: facts.dns.searches,
            mtu: iface.mtu,
            ...(hostname ? { hostname } : {}),
          },
        }
      : {}),
    warnings: [
      ...extra.map(
        (a) =>
          `interfaces[${i}]: IPv6 address ${a.address} stays with the pod; the guest's traffic leaves as ${v6addr!.address}`,
      ),
      ...(v6
        ? [
            `interfaces[${i}]: the guest must configure ${GUEST6}/${GUEST_SUBNET6.prefixLength} via ${GATEWAY6} itself ` +
              "(static or cloud-init network-config): the launcher serves no router advertisements (they need a raw socket)",
          ]
        : []),
    ],
  };
}

/** Where one masquerade NIC lives: the pod interface, the bridge and tap, and each family's addresses. */
interface MasqueradeLayout {
  iface: ReturnType<typeof podInterface>;
  bridge: string;
  tap: string;
  v4?: {
    v4: NonNullable<ReturnType<typeof ipv4Of>[number]>;
    subnet: ReturnType<typeof guestSubnet>;
    gatewayIp: string;
    guestIp: string;
  };
  v6?: { podIp: string; gatewayIp: string; guestIp: string };
}

/** The bridge, tap and addresses, then the nftables tables (NAT in ip/ip6, the guest's path in netdev). */
function masqueradeSteps(
  config: LauncherConfig,
  nic: LauncherInterface,
  facts: PodFacts,
  opts: PlanOptions,
  l: MasqueradeLayout,
): Part["steps"] {
  const { iface, bridge, tap } = l;
  // All ports means all but ours: each port something of ours listens on is excluded by name.
  const natPorts = nic.ports.length
    ? { declared: nic.ports }
    : { allExcept: [...ownPorts(config), ...MESH_PORTS] };
  const forward = masqueradeForwardRuleset({
    podInterface: iface.name,
    tap,
    guestMac: nic.mac,
    bridgeMac: hostMac(nic.mac, "bridge"),
    ...(l.v4
      ? {
          v4: {
            podIp: l.v4.v4.address,
            guestIp: l.v4.guestIp,
            guestSubnet: `${l.v4.subnet.address}/${l.v4.subnet.prefixLength}`,
            nextHops: nextHops(iface.name, l.v4.v4, facts),
          },
        }
      : {}),
    ...(l.v6
      ? {
          v6: {
            podIp: l.v6.podIp,
            guestIp: l.v6.guestIp,
            guestSubnet: `${GUEST_SUBNET6.address}/${GUEST_SUBNET6.prefixLength}`,
            nextHops: nextHops6(iface.name, facts),
          },
        }
      : {}),
    ports: nic.ports.length ? { declared: nic.ports } : { allExcept: [...MESH_PORTS] },
    ownPorts: ownPorts(config),
  });
  const v4Steps = (v: NonNullable<MasqueradeLayout["v4"]>): Part["steps"] => {
    const { ruleset, digest } = masqueradeRuleset({
      podInterface: iface.name,
      bridge,
      podIp: v.v4.address,
      gatewayIp: v.gatewayIp,
      guestIp: v.guestIp,
      ports: natPorts,
      ownPorts: ownPorts(config),
    });
    return [
      { op: "addr", dev: bridge, cidr: `${v.gatewayIp}/${v.subnet.prefixLength}`, present: true },
      // 127.0.0.1 → guest (output-chain DNAT) must be routable out of the bridge before its SNAT.
      {
        op: "sysctl",
        key: `net.ipv4.conf.${bridge}.route_localnet`,
        value: 1,
        mode: "exact",
        optional: true,
        purpose: "connections to 127.0.0.1 inside the pod (kubectl port-forward) to reach the guest",
      },
      { op: "neigh", dev: bridge, address: v.guestIp, mac: nic.mac },
      { op: "nftables", family: "ip", table: NFT_TABLE, digest, ruleset },
    ];
  };
  const v6Steps = (v: NonNullable<MasqueradeLayout["v6"]>): Part["steps"] => {
    const { ruleset, digest } = masquerade6Ruleset({
      podInterface: iface.name,
      bridge,
      podIp: v.podIp,
      guestIp: v.guestIp,
      ports: natPorts,
      ownPorts: ownPorts(config),
    });
    return [
      { op: "addr", dev: bridge, cidr: `${v.gatewayIp}/${GUEST_SUBNET6.prefixLength}`, present: true },
      { op: "neigh", dev: bridge, address: v.guestIp, mac: nic.mac },
      { op: "nftables", family: "ip6", table: NFT_TABLE, digest, ruleset },
    ];
  };
  return [
    { op: "bridge", name: bridge, mac: hostMac(nic.mac, "bridge") },
    { op: "tap", name: tap, uid: opts.uid, gid: opts.gid },
    { op: "link", dev: tap, mtu: iface.mtu, master: bridge, up: true },
    { op: "link", dev: bridge, mtu: iface.mtu, up: true },
    ...(l.v4 ? v4Steps(l.v4) : []),
    ...(l.v6 ? v6Steps(l.v6) : []),
    // The guest's traffic itself: moved between eth0 and the tap by the netdev table, not routed, so the
    // pod needs neither net.ipv4.ip_forward nor net.ipv6.conf.all.forwarding (unsafe sysctls).
    { op: "nftables", family: "netdev", table: NFT_TABLE, digest: forward.digest, ruleset: forward.ruleset },
  ];
}
