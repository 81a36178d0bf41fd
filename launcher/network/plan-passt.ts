/** The passt binding: nothing changes in the pod; passt hands the guest the pod's addresses. */
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import { checkPorts, field, ownPorts, plannedNic, podInterface, type Part } from "./plan-common.ts";

/** Plans a pod-network NIC with the passt binding. */
export function planPasst(config: LauncherConfig, nic: LauncherInterface, i: number, facts: PodFacts): Part {
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
    if (!nic.ports.length)
      return ownPorts(config)
        .map((p) => `~${p}`)
        .join(",");
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
  if (!nic.ports.length)
    // Measured (docs/networking.md): passt holds one descriptor per forwarded port and protocol (+40), and
    // all-ports mode did not fit in 20000; a pod's limit comes from the runtime, not from us.
    warnings.push(
      `interfaces[${i}]: no ports declared, so passt forwards every port and holds a file descriptor per ` +
        `port and protocol (tens of thousands); it exits with "Can't open enough sockets" under a low ` +
        `open-files limit — declare the ports the guest serves`,
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
