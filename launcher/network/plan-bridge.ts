/** The bridge binding on the pod network: the guest takes over eth0's MAC and IPv4 address. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import { bridgeDhcpRuleset, NFT_TABLE } from "./nftables.ts";
import type { PodAddress, PodFacts, PodInterface } from "./facts.ts";
import type { DhcpLease, SplicePlan } from "./plan-types.ts";
import {
  bridgeDhcpSteps,
  bridgeName,
  bridgeSteps,
  field,
  guestRoutes,
  hostMac,
  hostnameOf,
  ipv4Of,
  ipv6Of,
  plannedNic,
  ownPorts,
  podInterface,
  serverAddress,
  v4Only,
  type Part,
  type PlanOptions,
} from "./plan-common.ts";

/**
 * What the guest must configure for the pod's IPv6 address: the launcher serves no router advertisements
 * or DHCPv6 (an RA needs a raw socket, which the unprivileged launcher cannot open), so the guest takes it
 * from a static or cloud-init network-config; the gateway comes from the pod's IPv6 default route.
 */
function ipv6Warnings(i: number, iface: PodInterface, facts: PodFacts): string[] {
  const gw = facts.routes.find((r) => r.family === 6 && r.dev === iface.name && r.dst === "default")?.gateway;
  return ipv6Of(iface).map(
    (a) =>
      `interfaces[${i}]: the guest must configure the pod's IPv6 address ${a.address}/${a.prefixLength}` +
      `${gw ? ` via ${gw}` : ""} itself (static or cloud-init network-config): the launcher serves no router advertisements (they need a raw socket)`,
  );
}

/** Plans a pod-network NIC with the bridge binding. */
export function planBridge(
  config: LauncherConfig,
  nic: LauncherInterface,
  i: number,
  facts: PodFacts,
  opts: PlanOptions,
): Part {
  const iface = podInterface(facts, i);
  const v4 = ipv4Of(iface)[0];
  const v6 = ipv6Of(iface);
  if (!v4 && !v6.length)
    throw new NetworkError(
      "FAMILY_UNSUPPORTED",
      `the bridge binding hands the pod's addresses to the guest, but ${iface.name} has none`,
      {
        field: field(i, ".binding"),
      },
    );
  const warnings = ipv6Warnings(i, iface, facts);
  const splices = v4 ? bridgeSplices(config, nic, i, v4.address, warnings) : [];
  if (!v4 && nic.ports.length)
    warnings.push(
      `interfaces[${i}]: an IPv6-only pod has no port-forward splice (it connects over IPv4); ports are not reachable from 127.0.0.1`,
    );
  if (nic.mac !== iface.mac)
    warnings.push(
      `interfaces[${i}]: the guest gets ${iface.name}'s MAC ${iface.mac}, not ${nic.mac}: ` +
        `the pod network knows the pod's IP at that MAC`,
    );
  const bridge = bridgeName(iface.name);
  const tap = `tap${i}`;
  return {
    steps: [
      ...bridgeSteps(iface, bridge, tap, opts),
      ...(v4 ? bridgeDhcpSteps(bridge, i, v4.address, iface.mac) : []),
      {
        op: "nftables",
        family: "bridge",
        table: NFT_TABLE,
        ...bridgeDhcpRuleset({
          tap,
          podInterface: iface.name,
          ...(splices.length
            ? { splice: { sourceIp: serverAddress(i), bridgeMac: hostMac(iface.mac, "bridge") } }
            : {}),
        }),
      },
    ],
    nic: plannedNic(nic, iface.mac, iface.mtu, { kind: "tap", ifname: tap, bridge }, iface.name, [
      ...(v4 ? [v4.address] : []),
      ...v6.map((a) => a.address),
    ]),
    ...(v4 ? { lease: bridgeLease(config, i, iface, v4, facts) } : {}),
    splices,
    warnings,
  };
}

/** The DHCPv4 lease of the pod's IPv4 address, with the pod's routes on the interface. */
function bridgeLease(
  config: LauncherConfig,
  i: number,
  iface: PodInterface,
  v4: PodAddress,
  facts: PodFacts,
): DhcpLease {
  const subnet = { address: v4.address, prefixLength: v4.prefixLength };
  const { router, routes } = guestRoutes(iface.name, subnet, facts.routes);
  const hostname = hostnameOf(config);
  return {
    interface: bridgeName(iface.name),
    serverAddress: serverAddress(i),
    mac: iface.mac,
    ip: v4.address,
    prefixLength: v4.prefixLength,
    ...(router ? { router } : {}),
    routes,
    dns: v4Only(facts.dns.nameservers),
    search: facts.dns.searches,
    mtu: iface.mtu,
    ...(hostname ? { hostname } : {}),
  };
}

/**
 * The declared TCP ports, spliced from 127.0.0.1 in the pod to the guest (every port already reaches the
 * guest at the pod IP; only loopback needs the launcher). UDP cannot be port-forwarded, and a port of
 * ours on 127.0.0.1 (the launcher's HTTP port, VNC) stays ours: both are skipped with a warning rather
 * than refused, since the guest still gets them at the pod IP.
 */
function bridgeSplices(
  config: LauncherConfig,
  nic: LauncherInterface,
  i: number,
  guestIp: string,
  warnings: string[],
): SplicePlan[] {
  const own = ownPorts(config);
  const seen = new Set<number>();
  const out: SplicePlan[] = [];
  const skip = (port: number, protocol: string, why: string) =>
    warnings.push(
      `interfaces[${i}]: port ${port}/${protocol} is not reachable from 127.0.0.1 in the pod (${why}); ` +
        "it still reaches the guest at the pod IP",
    );
  for (const p of nic.ports) {
    if (p.protocol !== "TCP") skip(p.port, p.protocol, "port-forward carries TCP only");
    else if (own.includes(p.port)) skip(p.port, p.protocol, "it is the launcher's own port there");
    if (p.protocol !== "TCP" || own.includes(p.port) || seen.has(p.port)) continue;
    seen.add(p.port);
    out.push({ nic: nic.name, port: p.port, guestIp, sourceIp: serverAddress(i) });
  }
  return out.sort((a, b) => a.port - b.port);
}
