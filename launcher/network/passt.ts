/** passt, the user-mode network backend of the passt binding: no capabilities, no NET_ADMIN. */
import type { PasstPlan } from "./plan-types.ts";

/** Arguments for the passt serving one NIC; its pid file lives beside the socket. */
export function passtArgs(p: PasstPlan): string[] {
  return [
    "--foreground",
    // Log to stderr (captured by the launcher); passt otherwise tries syslog, which a pod has not.
    "--stderr",
    "--socket",
    p.socketPath,
    "--pid",
    p.socketPath.replace(/\.sock$/, ".pid"),
    "--interface",
    p.podInterface,
    "--tcp-ports",
    p.tcpPorts,
    "--udp-ports",
    p.udpPorts,
    ...(p.dns.length ? p.dns.flatMap((d) => ["--dns", d]) : ["--no-dhcp-dns"]),
    ...(p.search.length ? ["--search", p.search.join(" ")] : ["--no-dhcp-search"]),
  ];
}
