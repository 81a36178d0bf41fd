/** The bridge binding on the pod network: the guest takes over eth0's MAC and IPv4 address. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import { bridgeDhcpRuleset, NFT_TABLE } from "./nftables.ts";
import type { PodFacts } from "./facts.ts";
import {
  bridgeDhcpSteps,
  bridgeName,
  bridgeSteps,
  field,
  guestRoutes,
  hostnameOf,
  ipv4Of,
  ipv6Of,
  plannedNic,
  podInterface,
  serverAddress,
  v4Only,
  type Part,
  type PlanOptions,
} from "./plan-common.ts";

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
  if (!v4)
    throw new NetworkError(
      "FAMILY_UNSUPPORTED",
      `the bridge binding hands the pod's IPv4 address to the guest by DHCP, but ${iface.name} has ` +
        `no IPv4 address (${iface.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(", ") || "none"}); ` +
        `use the passt binding`,
      { field: field(i, ".binding") },
    );
  const warnings = ipv6Of(iface).map(
    (a) =>
      `interfaces[${i}]: IPv6 address ${a.address}/${a.prefixLength} of ${iface.name} is not served to the guest by the bridge binding`,
  );
  if (nic.ports.length)
    warnings.push(`interfaces[${i}]: ports are ignored by the bridge binding (every port reaches the guest)`);
  if (nic.mac !== iface.mac)
    warnings.push(
      `interfaces[${i}]: the guest gets ${iface.name}'s MAC ${iface.mac}, not ${nic.mac}: ` +
        `the pod network knows the pod's IP at that MAC`,
    );
  const bridge = bridgeName(iface.name);
  const tap = `tap${i}`;
  const subnet = { address: v4.address, prefixLength: v4.prefixLength };
  const { router, routes } = guestRoutes(iface.name, subnet, facts.routes);
  const hostname = hostnameOf(config);
  return {
    steps: [
      ...bridgeSteps(iface, bridge, tap, opts),
      ...bridgeDhcpSteps(bridge, i, v4.address, iface.mac),
      {
        op: "nftables",
        family: "bridge",
        table: NFT_TABLE,
        ...bridgeDhcpRuleset({ tap, podInterface: iface.name }),
      },
    ],
    nic: plannedNic(nic, iface.mac, iface.mtu, { kind: "tap", ifname: tap, bridge }, iface.name, [
      v4.address,
    ]),
    lease: {
      interface: bridge,
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
    },
    warnings,
  };
}
