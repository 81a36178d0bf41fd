/** The masquerade binding: the guest on a private subnet behind NAT on the pod's IP. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import { cidrsOverlap, networkOf, nthAddress, parseCidr4, type Cidr4 } from "./ipv4.ts";
import { MESH_PORTS, masqueradeRuleset, NFT_TABLE } from "./nftables.ts";
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

/** Plans a pod-network NIC with the masquerade binding. */
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
  if (!v4)
    throw new NetworkError(
      "FAMILY_UNSUPPORTED",
      `the masquerade binding NATs IPv4, but ${iface.name} has no IPv4 address; use the passt binding`,
      { field: field(i, ".binding") },
    );
  checkPorts(config, nic, i);
  const subnet = guestSubnet(nic.network.vmNetworkCIDR, i, facts);
  const gatewayIp = nthAddress(subnet, 1);
  const guestIp = nthAddress(subnet, 2);
  const bridge = bridgeName(iface.name);
  const tap = `tap${i}`;
  const hostname = hostnameOf(config);
  return {
    steps: masqueradeSteps(config, nic, facts, opts, { iface, v4, subnet, gatewayIp, guestIp, bridge, tap }),
    nic: plannedNic(nic, nic.mac, iface.mtu, { kind: "tap", ifname: tap, bridge }, iface.name, [guestIp]),
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
    warnings: ipv6Of(iface).map(
      (a) =>
        `interfaces[${i}]: IPv6 address ${a.address} stays with the pod; the masquerade binding serves IPv4 only`,
    ),
  };
}

/** Where one masquerade NIC lives: the pod interface, the guest's private subnet and the devices made for it. */
interface MasqueradeLayout {
  iface: ReturnType<typeof podInterface>;
  v4: NonNullable<ReturnType<typeof ipv4Of>[number]>;
  subnet: ReturnType<typeof guestSubnet>;
  gatewayIp: string;
  guestIp: string;
  bridge: string;
  tap: string;
}

/** The bridge, tap and addresses, then the two nftables tables (NAT in ip, the guest's path in netdev). */
function masqueradeSteps(
  config: LauncherConfig,
  nic: LauncherInterface,
  facts: PodFacts,
  opts: PlanOptions,
  l: MasqueradeLayout,
): Part["steps"] {
  const { iface, v4, subnet, gatewayIp, guestIp, bridge, tap } = l;
  const { ruleset, digest } = masqueradeRuleset({
    podInterface: iface.name,
    bridge,
    podIp: v4.address,
    gatewayIp,
    guestIp,
    // All ports means all but ours: each port something of ours listens on is excluded by name.
    ports: nic.ports.length ? { declared: nic.ports } : { allExcept: [...ownPorts(config), ...MESH_PORTS] },
    ownPorts: ownPorts(config),
  });
  const forward = masqueradeForwardRuleset({
    podInterface: iface.name,
    tap,
    podIp: v4.address,
    guestIp,
    guestMac: nic.mac,
    bridgeMac: hostMac(nic.mac, "bridge"),
    guestSubnet: `${subnet.address}/${subnet.prefixLength}`,
    nextHops: nextHops(iface.name, v4, facts),
    ports: nic.ports.length ? { declared: nic.ports } : { allExcept: [...MESH_PORTS] },
    ownPorts: ownPorts(config),
  });
  return [
    { op: "bridge", name: bridge, mac: hostMac(nic.mac, "bridge") },
    { op: "tap", name: tap, uid: opts.uid, gid: opts.gid },
    { op: "link", dev: tap, mtu: iface.mtu, master: bridge, up: true },
    { op: "link", dev: bridge, mtu: iface.mtu, up: true },
    { op: "addr", dev: bridge, cidr: `${gatewayIp}/${subnet.prefixLength}`, present: true },
    // 127.0.0.1 → guest (output-chain DNAT) must be routable out of the bridge before its SNAT.
    {
      op: "sysctl",
      key: `net.ipv4.conf.${bridge}.route_localnet`,
      value: 1,
      mode: "exact",
      optional: true,
      purpose: "connections to 127.0.0.1 inside the pod (kubectl port-forward) to reach the guest",
    },
    { op: "neigh", dev: bridge, address: guestIp, mac: nic.mac },
    { op: "nftables", family: "ip", table: NFT_TABLE, digest, ruleset },
    // The guest's traffic itself: moved between eth0 and the tap by the netdev table, not routed, so the
    // pod needs no net.ipv4.ip_forward (an unsafe sysctl).
    { op: "nftables", family: "netdev", table: NFT_TABLE, digest: forward.digest, ruleset: forward.ruleset },
  ];
}
