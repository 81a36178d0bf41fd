/** The guest NICs status reports: the MAC the guest has and the IPs it is reached at. */
import type { VmStatus } from "../../../crds/api/status.ts";
import type { VirtualMachine } from "../../../crds/api/virtual-machine.ts";
import { deriveMac } from "../../../crds/launcher/mac.ts";
import type { PodView } from "../pod-view.ts";
import type { Observed } from "./inputs.ts";

/**
 * Guest NICs with what the guest has. masquerade and passt give the guest the spec's MAC (or the derived one, as
 * the launcher does). bridge on the pod network and every Multus NIC hand the guest the pod interface's own MAC
 * (the network knows the pod's address at it), which only Multus' network-status annotation tells: reported
 * from there, and left out when unknown rather than guessed. IPs: the pod's on the pod-network NIC, the
 * attachment's on a Multus NIC, while the launcher runs.
 */
export function interfacesOf(
  vm: VirtualMachine,
  pod: PodView | undefined,
  defaultBinding: Observed["pod"]["defaultBinding"],
): VmStatus["interfaces"] {
  const networks = new Map(vm.spec.networks.map((n) => [n.name, n]));
  const ns = vm.metadata.namespace ?? "default";
  const name = vm.metadata.name ?? "";
  const live = pod && !pod.terminating && pod.phase === "Running" ? pod : undefined;
  const qualify = (n: string) => (n.includes("/") ? n : `${ns}/${n}`);
  return vm.spec.interfaces.map((i) => {
    const net = networks.get(i.name);
    const own = (i.macAddress ?? deriveMac(ns, name, i.name)).toLowerCase();
    if (net?.multus) {
      const wanted = qualify(net.multus.networkName);
      const entry = live?.networkStatus?.find((e) => !e.default && qualify(e.name) === wanted);
      return {
        name: i.name,
        ...(entry?.mac ? { mac: entry.mac.toLowerCase() } : {}),
        ...(entry?.ips?.length ? { ips: [...entry.ips] } : {}),
        ...(entry?.interface ? { podInterface: entry.interface } : {}),
      };
    }
    const binding = i.binding ?? defaultBinding;
    const podMac = live?.networkStatus?.find((e) => e.default)?.mac;
    const mac = binding === "bridge" ? podMac?.toLowerCase() : own;
    return {
      name: i.name,
      ...(mac ? { mac } : {}),
      ...(net?.pod && live?.podIPs.length ? { ips: [...live.podIPs], podInterface: "eth0" } : {}),
    };
  });
}
