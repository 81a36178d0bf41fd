/** What the per-binding planners share: names, derived MACs, bridge steps, routes, checks. */
import { type LauncherConfig, type LauncherInterface } from "../../crds/launcher/config.ts";
import { LAUNCHER_HTTP_PORT, VNC_PORT } from "../../crds/contract/index.ts";
import { deriveMac } from "../../crds/launcher/mac.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts, PodInterface } from "./facts.ts";
import { cidrContains, formatCidr, networkOf, parseCidr4, type Cidr4 } from "./ipv4.ts";
import type { DhcpLease, HostStep, PasstPlan, PlannedNic, SplicePlan } from "./plan-types.ts";

/** The pod network's interface, as every CNI names it. */
export const POD_INTERFACE = "eth0";
/** DHCP's server port; the launcher binds it as a non-root user once the pod allows it. */
export const DHCP_SERVER_PORT = 67;

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
export const hostMac = (seed: string, role: string) => deriveMac("vireo-host", seed, role);

/** Link-local address the bridge of NIC `index` holds as DHCP server identifier (bridge binding). */
export const serverAddress = (index: number) => `169.254.75.${10 + index}`;

/** Field path of interface `i` in the config, for errors. */
export const field = (i: number, rest = "") => `interfaces[${i}]${rest}`;

/** A pod interface's IPv4 addresses. */
export const ipv4Of = (iface: PodInterface) => iface.addresses.filter((a) => a.family === 4);
/** A pod interface's IPv6 addresses. */
export const ipv6Of = (iface: PodInterface) => iface.addresses.filter((a) => a.family === 6);

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

/** The IPv4 entries of an address list (DHCPv4 can carry no others). */
export const v4Only = (addrs: readonly string[]) => addrs.filter((a) => parseCidr4(a) !== undefined);

/** A DNS label the guest may take as its hostname, if the VM name is one. */
export function hostnameOf(config: LauncherConfig): string | undefined {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(config.vm.name) ? config.vm.name : undefined;
}

/**
 * Every TCP port something of ours listens on inside the pod: the launcher's HTTP port (as configured and
 * the contract's default) and, with VNC on, QEMU's VNC server. None is ever forwarded to the guest, or
 * the guest could answer in its place (a guest holding 127.0.0.1:5900 impersonates the console).
 */
export function ownPorts(config: LauncherConfig): number[] {
  const ports = [config.http.port, LAUNCHER_HTTP_PORT, ...(config.devices.vnc ? [VNC_PORT] : [])];
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** Checks the declared ports of a masquerade/passt NIC: none of the pod's own ports, no duplicates. */
export function checkPorts(config: LauncherConfig, nic: LauncherInterface, i: number): void {
  const seen = new Set<string>();
  const own = ownPorts(config);
  nic.ports.forEach((p, j) => {
    const key = `${p.protocol}/${p.port}`;
    if (own.includes(p.port))
      throw new NetworkError(
        "PORT_CLASH",
        p.port === VNC_PORT && p.port !== config.http.port
          ? `port ${p.port}/${p.protocol} is QEMU's VNC console inside the pod and cannot be forwarded`
          : `port ${p.port}/${p.protocol} is the launcher's own metrics/health port and cannot be forwarded`,
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
export interface Part {
  steps: HostStep[];
  nic: PlannedNic;
  lease?: DhcpLease;
  passt?: PasstPlan;
  splices?: SplicePlan[];
  warnings: string[];
}

/** The pod interface eth0, or the error every pod-network binding raises without it. */
export function podInterface(facts: PodFacts, i: number): PodInterface {
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
export function bridgeSteps(iface: PodInterface, bridge: string, tap: string, opts: PlanOptions): HostStep[] {
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
export function bridgeDhcpSteps(bridge: string, index: number, address: string, mac: string): HostStep[] {
  return [
    { op: "addr", dev: bridge, cidr: `${serverAddress(index)}/32`, present: true },
    { op: "route", dst: `${address}/32`, dev: bridge },
    { op: "neigh", dev: bridge, address, mac },
  ];
}

/** A planned NIC from the config's interface and what the binding decided. */
export function plannedNic(
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
