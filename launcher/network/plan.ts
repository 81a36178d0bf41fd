/**
 * `planNetwork`: from the launcher config and the pod's facts to a {@link NetPlan}, purely. Every error
 * a user can cause (missing interface, address family, port clash, subnet overlap) is raised here,
 * before anything in the pod is touched.
 */
import {
  LAUNCHER_HTTP_PORT,
  type LauncherConfig,
  type LauncherInterface,
} from "../../crds/launcher/config.ts";
import { deriveMac } from "../../crds/launcher/mac.ts";
import { NetworkError } from "./errors.ts";
import type { NetworkStatusEntry, PodFacts, PodInterface } from "./facts.ts";
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  networkOf,
  nthAddress,
  parseCidr4,
  type Cidr4,
} from "./ipv4.ts";
import { MESH_PORTS, masqueradeRuleset, NFT_TABLE } from "./nftables.ts";
import type { DhcpLease, HostStep, NetPlan, PasstPlan, PlannedNic } from "./plan-types.ts";

/** The uid and gid the launcher container runs as (KubeVirt's qemu user); taps are owned by them. */
export const LAUNCHER_UID = 107;
/** See {@link LAUNCHER_UID}. */
export const LAUNCHER_GID = 107;
/** The pod network's interface, as every CNI names it. */
export const POD_INTERFACE = "eth0";
/** DHCP's server port; the launcher binds it as a non-root user once the pod allows it. */
const DHCP_SERVER_PORT = 67;

/** Settings of the planner besides the config. */
export interface PlanOptions {
  /** Owner of the taps: the launcher container's uid and gid. */
  uid: number;
  gid: number;
}

/** The bridge a pod interface is enslaved to: `k6t-<iface>` (15 characters at most, as Linux requires). */
export function bridgeName(podInterface: string): string {
  const name = `k6t-${podInterface}`;
  return name.length <= 15
    ? name
    : `k6t-${deriveMac("", "bridge", podInterface).replaceAll(":", "").slice(2, 12)}`;
}

/** A stable, locally administered MAC for a host-side link, derived from what it stands in for. */
const hostMac = (seed: string, role: string) => deriveMac("vireo-host", seed, role);

/** Link-local address the bridge of NIC `index` holds as DHCP server identifier (bridge binding). */
const serverAddress = (index: number) => `169.254.75.${10 + index}`;

const field = (i: number, rest = "") => `interfaces[${i}]${rest}`;

const ipv4Of = (iface: PodInterface) => iface.addresses.filter((a) => a.family === 4);
const ipv6Of = (iface: PodInterface) => iface.addresses.filter((a) => a.family === 6);

/** Guest routes from the pod routes on `dev`: the router and classless static routes (option 121). */
export function guestRoutes(
  dev: string,
  subnet: Cidr4,
  routes: PodFacts["routes"],
): { router?: string; routes: DhcpLease["routes"] } {
  const mine = routes.filter((r) => r.family === 4 && r.dev === dev);
  const gateway = mine.find((r) => r.dst === "default")?.gateway;
  const onLink: DhcpLease["routes"] = [];
  const via: DhcpLease["routes"] = [];
  for (const r of mine) {
    const c = r.dst === "default" ? undefined : parseCidr4(r.dst);
    if (!c) continue;
    const dst = formatCidr({ address: networkOf(c), prefixLength: c.prefixLength });
    // The connected subnet follows from the netmask; the guest's own address is no route.
    if (dst === formatCidr({ address: networkOf(subnet), prefixLength: subnet.prefixLength })) continue;
    if (c.prefixLength === 32 && c.address === subnet.address) continue;
    (r.gateway ? via : onLink).push({ dst, via: r.gateway ?? "0.0.0.0" });
  }
  if (gateway && !cidrContains(subnet, gateway) && !onLink.some((r) => r.dst === `${gateway}/32`))
    onLink.unshift({ dst: `${gateway}/32`, via: "0.0.0.0" });
  const extra = [...onLink, ...via];
  // RFC 3442 clients ignore the router option when option 121 is present, so it must carry the default.
  const all = extra.length && gateway ? [...extra, { dst: "0.0.0.0/0", via: gateway }] : extra;
  return { ...(gateway ? { router: gateway } : {}), routes: all };
}

const v4Only = (addrs: readonly string[]) => addrs.filter((a) => parseCidr4(a) !== undefined);

/** A DNS label the guest may take as its hostname, if the VM name is one. */
function hostnameOf(config: LauncherConfig): string | undefined {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(config.vm.name) ? config.vm.name : undefined;
}

/** Checks the declared ports of a masquerade/passt NIC: not the launcher's own port, no duplicates. */
function checkPorts(config: LauncherConfig, nic: LauncherInterface, i: number): void {
  const seen = new Set<string>();
  nic.ports.forEach((p, j) => {
    const key = `${p.protocol}/${p.port}`;
    if (p.port === config.http.port)
      throw new NetworkError(
        "PORT_CLASH",
        `port ${p.port}/${p.protocol} is the launcher's own metrics/health port and cannot be forwarded`,
        { field: field(i, `.ports[${j}]`) },
      );
    if (seen.has(key))
      throw new NetworkError("PORT_CLASH", `port ${p.port}/${p.protocol} is declared twice`, {
        field: field(i, `.ports[${j}]`),
      });
    seen.add(key);
  });
}

/** What the per-binding planners add to the plan. */
interface Part {
  steps: HostStep[];
  nic: PlannedNic;
  lease?: DhcpLease;
  passt?: PasstPlan;
  warnings: string[];
}

/** The pod interface eth0, or the error every pod-network binding raises without it. */
function podInterface(facts: PodFacts, i: number): PodInterface {
  const iface = facts.interfaces.find((x) => x.name === POD_INTERFACE);
  if (!iface)
    throw new NetworkError(
      "NO_POD_INTERFACE",
      `the pod has no ${POD_INTERFACE} (interfaces: ${facts.interfaces.map((x) => x.name).join(", ") || "none"})`,
      { field: field(i, ".network") },
    );
  return iface;
}

/**
 * Steps that put pod interface `iface` into a new bridge with tap `tap`: the guest takes over the
 * interface's MAC and addresses, so the interface and the bridge get other MACs (else the bridge takes
 * the guest's frames for its own) and the interface stops learning (else it learns the guest's MAC on
 * the wrong port).
 */
function bridgeSteps(iface: PodInterface, bridge: string, tap: string, opts: PlanOptions): HostStep[] {
  return [
    { op: "bridge", name: bridge, mac: hostMac(iface.mac, "bridge") },
    { op: "tap", name: tap, uid: opts.uid, gid: opts.gid },
    { op: "link", dev: tap, mtu: iface.mtu, master: bridge, up: true },
    ...iface.addresses.map((a): HostStep => ({
      op: "addr",
      dev: iface.name,
      cidr: `${a.address}/${a.prefixLength}`,
      present: false,
    })),
    {
      op: "link",
      dev: iface.name,
      mac: hostMac(iface.mac, "port"),
      master: bridge,
      learning: false,
      up: true,
    },
    { op: "link", dev: bridge, mtu: iface.mtu, up: true },
  ];
}

/** DHCP plumbing for a bridged NIC that takes over `address`: see DESIGN "Ground truth" (c). */
function bridgeDhcpSteps(bridge: string, index: number, address: string, mac: string): HostStep[] {
  return [
    { op: "addr", dev: bridge, cidr: `${serverAddress(index)}/32`, present: true },
    { op: "route", dst: `${address}/32`, dev: bridge },
    { op: "neigh", dev: bridge, address, mac },
  ];
}

function planBridge(
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
    steps: [...bridgeSteps(iface, bridge, tap, opts), ...bridgeDhcpSteps(bridge, i, v4.address, iface.mac)],
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

function plannedNic(
  nic: LauncherInterface,
  mac: string,
  mtu: number | undefined,
  backend: PlannedNic["backend"],
  podIface: string,
  guestIps: string[],
): PlannedNic {
  return {
    name: nic.name,
    binding: nic.binding,
    model: nic.model,
    mac,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(nic.bootOrder !== undefined ? { bootOrder: nic.bootOrder } : {}),
    backend,
    podInterface: podIface,
    guestIps,
  };
}

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

function planMasquerade(
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
  const { ruleset, digest } = masqueradeRuleset({
    podInterface: iface.name,
    bridge,
    podIp: v4.address,
    gatewayIp,
    guestIp,
    ports: nic.ports.length
      ? { declared: nic.ports }
      : { allExcept: [config.http.port, LAUNCHER_HTTP_PORT, ...MESH_PORTS] },
  });
  const warnings = ipv6Of(iface).map(
    (a) =>
      `interfaces[${i}]: IPv6 address ${a.address} stays with the pod; the masquerade binding serves IPv4 only`,
  );
  const hostname = hostnameOf(config);
  return {
    steps: [
      {
        op: "sysctl",
        key: "net.ipv4.ip_forward",
        value: 1,
        mode: "exact",
        purpose: "the masquerade binding to route the guest's traffic",
      },
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
    ],
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
    warnings,
  };
}

function planPasst(config: LauncherConfig, nic: LauncherInterface, i: number, facts: PodFacts): Part {
  const iface = podInterface(facts, i);
  if (!iface.addresses.length)
    throw new NetworkError(
      "FAMILY_UNSUPPORTED",
      `${iface.name} has no address for passt to hand to the guest`,
      {
        field: field(i, ".binding"),
      },
    );
  checkPorts(config, nic, i);
  const spec = (proto: "TCP" | "UDP") => {
    if (!nic.ports.length) return `~${config.http.port}`;
    const list = nic.ports.filter((p) => p.protocol === proto).map((p) => p.port);
    return list.length ? list.join(",") : "none";
  };
  const warnings = nic.ports
    .filter((p) => p.port < 1024)
    .map(
      (p) =>
        `interfaces[${i}]: passt binds port ${p.port} as the launcher's user; the pod needs the sysctl ` +
        `net.ipv4.ip_unprivileged_port_start<=${p.port}`,
    );
  const socketPath = `${config.paths.runDir}/passt-${i}.sock`;
  return {
    steps: [],
    // passt announces its own MTU by DHCP; the guest's path MTU is passt's sockets' business.
    nic: plannedNic(
      nic,
      nic.mac,
      undefined,
      { kind: "passt", socketPath },
      iface.name,
      iface.addresses.map((a) => a.address),
    ),
    passt: {
      nic: nic.name,
      socketPath,
      podInterface: iface.name,
      tcpPorts: spec("TCP"),
      udpPorts: spec("UDP"),
      dns: facts.dns.nameservers,
      search: facts.dns.searches,
    },
    warnings,
  };
}

/** The network-status entry of a Multus network (`name` or `namespace/name`, default: the VM's namespace). */
function statusEntry(
  config: LauncherConfig,
  networkName: string,
  facts: PodFacts,
  i: number,
): NetworkStatusEntry {
  const norm = (n: string) => (n.includes("/") ? n : `${config.vm.namespace}/${n}`);
  const wanted = norm(networkName);
  if (!facts.networkStatus)
    throw new NetworkError(
      "MULTUS_NETWORK_NOT_FOUND",
      `network ${wanted} is a Multus network, but the pod has no k8s.v1.cni.cncf.io/network-status annotation`,
      { field: field(i, ".network.networkName") },
    );
  const entry = facts.networkStatus.find((e) => !e.default && norm(e.name) === wanted);
  if (!entry)
    throw new NetworkError(
      "MULTUS_NETWORK_NOT_FOUND",
      `network ${wanted} is not attached to the pod (network-status lists ${facts.networkStatus.map((e) => e.name).join(", ") || "nothing"})`,
      { field: field(i, ".network.networkName") },
    );
  return entry;
}

function planMultus(
  config: LauncherConfig,
  nic: LauncherInterface,
  i: number,
  facts: PodFacts,
  opts: PlanOptions,
): Part {
  if (nic.network.kind !== "multus") throw new Error("unreachable: not a Multus network");
  if (nic.binding !== "bridge")
    throw new NetworkError(
      "BINDING_UNSUPPORTED",
      `secondary (Multus) networks use the bridge binding, not ${nic.binding}`,
      {
        field: field(i, ".binding"),
      },
    );
  const entry = statusEntry(config, nic.network.networkName, facts, i);
  if (!entry.interface)
    throw new NetworkError("FACTS_INVALID", `network-status entry ${entry.name} names no interface`, {
      field: field(i, ".network.networkName"),
    });
  const iface = facts.interfaces.find((x) => x.name === entry.interface);
  if (!iface)
    throw new NetworkError(
      "NO_POD_INTERFACE",
      `Multus attached ${entry.name} as ${entry.interface}, but the pod has no such interface`,
      {
        field: field(i, ".network.networkName"),
      },
    );
  const bridge = bridgeName(iface.name);
  const tap = `tap${i}`;
  const v4 = ipv4Of(iface)[0];
  const steps = bridgeSteps(iface, bridge, tap, opts);
  const part: Part = {
    steps,
    nic: plannedNic(
      nic,
      iface.mac,
      iface.mtu,
      { kind: "tap", ifname: tap, bridge },
      iface.name,
      v4 ? [v4.address] : [],
    ),
    warnings: [],
  };
  // Without an address the network is plain L2: the guest configures itself (or another DHCP server does).
  if (!v4) return part;
  steps.push(...bridgeDhcpSteps(bridge, i, v4.address, iface.mac));
  const { router, routes } = guestRoutes(
    iface.name,
    { address: v4.address, prefixLength: v4.prefixLength },
    facts.routes,
  );
  part.lease = {
    interface: bridge,
    serverAddress: serverAddress(i),
    mac: iface.mac,
    ip: v4.address,
    prefixLength: v4.prefixLength,
    ...(router ? { router } : {}),
    routes,
    dns: v4Only(entry.dns?.nameservers ?? []),
    search: entry.dns?.search ?? [],
    mtu: iface.mtu,
  };
  return part;
}

/**
 * Plans the pod's network for the config's interfaces. Pure: the same config and facts give the same
 * plan, so a launcher restart in the same pod re-applies an identical plan (the executor then changes
 * nothing). Throws {@link NetworkError} for anything the user must fix.
 */
export function planNetwork(
  config: LauncherConfig,
  facts: PodFacts,
  options: PlanOptions = { uid: LAUNCHER_UID, gid: LAUNCHER_GID },
): NetPlan {
  const podNics = config.interfaces.flatMap((n, i) => (n.network.kind === "pod" ? [i] : []));
  if (podNics.length > 1)
    throw new NetworkError(
      "BINDING_UNSUPPORTED",
      `only one interface can use the pod network (interfaces ${podNics.join(", ")} do)`,
      {
        field: field(podNics[1]!, ".network"),
      },
    );
  const parts = config.interfaces.map((nic, i): Part => {
    if (nic.network.kind === "multus") return planMultus(config, nic, i, facts, options);
    if (nic.binding === "bridge") return planBridge(config, nic, i, facts, options);
    if (nic.binding === "masquerade") return planMasquerade(config, nic, i, facts, options);
    return planPasst(config, nic, i, facts);
  });
  const leases = parts.flatMap((p) => (p.lease ? [p.lease] : []));
  const steps: HostStep[] = [];
  // The DHCP server runs as the launcher's user: it may bind port 67 once the pod's (namespaced) limit allows.
  if (leases.length)
    steps.push({
      op: "sysctl",
      key: "net.ipv4.ip_unprivileged_port_start",
      value: DHCP_SERVER_PORT,
      mode: "atMost",
      purpose: "the launcher's DHCP server to bind port 67 without privileges",
    });
  steps.push(...parts.flatMap((p) => p.steps));
  return {
    version: 1,
    steps,
    nics: parts.map((p) => p.nic),
    ...(leases.length ? { dhcp: { leases } } : {}),
    passt: parts.flatMap((p) => (p.passt ? [p.passt] : [])),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/** Whether applying the plan needs NET_ADMIN (false for passt-only VMs: no netsetup container then). */
export function planNeedsPrivilege(plan: NetPlan): boolean {
  return plan.steps.length > 0;
}
