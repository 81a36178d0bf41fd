/** Secondary (Multus) networks: the bridge binding to the interface the network-status annotation names. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { NetworkStatusEntry, PodFacts } from "./facts.ts";
import {
  bridgeDhcpSteps,
  bridgeName,
  bridgeSteps,
  field,
  guestRoutes,
  ipv4Of,
  plannedNic,
  serverAddress,
  v4Only,
  type Part,
  type PlanOptions,
} from "./plan-common.ts";

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

/** Plans a NIC on a Multus network. */
export function planMultus(
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
