/** The guest NICs status reports: the MAC the guest has and the IPs it is reached at. */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { ResolvedVm } from "../../../crds/launcher/resolve.ts";
import type { PodView } from "../pod-view.ts";

/**
 * Guest NICs with what the guest has. masquerade and passt give the guest the spec's MAC (or the derived one, as
 * the launcher does). bridge on the pod network and every Multus NIC hand the guest the pod interface's own MAC
 * (the network knows the pod's address at it), which only Multus' network-status annotation tells: reported
 * from there, and left out when unknown rather than guessed. IPs: the pod's on the pod-network NIC, the
 * attachment's on a Multus NIC, while the launcher runs.
 */
export function interfacesOf(r: ResolvedVm, pod: PodView | undefined): VmStatus["interfaces"] {
  const live = pod && !pod.terminating && pod.phase === "Running" ? pod : undefined;
  const qualify = (n: string) => (n.includes("/") ? n : `${r.namespace}/${n}`);
  return r.interfaces.map(({ iface: i, network: net, binding, mac: own }) => {
    if (net.multus) {
      const wanted = qualify(net.multus.networkName);
      const entry = live?.networkStatus?.find((e) => !e.default && qualify(e.name) === wanted);
      return {
        name: i.name,
        ...(entry?.mac ? { mac: entry.mac.toLowerCase() } : {}),
        ...(entry?.ips?.length ? { ips: [...entry.ips] } : {}),
        ...(entry?.interface ? { podInterface: entry.interface } : {}),
      };
    }
    const podMac = live?.networkStatus?.find((e) => e.default)?.mac;
    const mac = binding === "bridge" ? podMac?.toLowerCase() : own;
    return {
      name: i.name,
      ...(mac ? { mac } : {}),
      ...(net.pod && live?.podIPs.length ? { ips: [...live.podIPs], podInterface: "eth0" } : {}),
    };
  });
}
