/**
 * The guests' DHCP server, in the launcher's own process.
 *
 * Why not dnsmasq: Debian 12's dnsmasq (2.90) refuses to serve DHCP unless CAP_NET_ADMIN and CAP_NET_RAW
 * are in its permitted set ("process is missing required capability NET_ADMIN"), whatever the options
 * (--no-ping, --dhcp-broadcast), and the launcher container holds no capabilities. A server for a
 * handful of static leases is small: a UDP socket on port 67 (allowed by the pod's
 * ip_unprivileged_port_start, which the setup step lowers) and unicast replies that the plan's /32 route
 * and permanent neighbour entry deliver to a client without an address — no raw sockets, no ARP
 * injection.
 */
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "pino";
import type { DhcpLease } from "../plan-types.ts";
import { NetworkError } from "../errors.ts";
import { decodeMessage, encodeMessage } from "./packet.ts";
import { respond } from "./respond.ts";

/** A running DHCP server. */
export interface DhcpServer {
  /** Replies sent so far, by type (for metrics and tests). */
  counts(): Record<"OFFER" | "ACK" | "NAK", number>;
  close(): Promise<void>;
}

/** Options of {@link startDhcpServer}. */
export interface DhcpServerOptions {
  /** Default 67; tests may use another. */
  port?: number;
  /** Default 68. */
  clientPort?: number;
  logger?: Logger;
}

/** Binds 0.0.0.0:67 and answers requests from the leases' MACs. */
export async function startDhcpServer(
  leases: readonly DhcpLease[],
  options: DhcpServerOptions = {},
): Promise<DhcpServer> {
  const socket: Socket = createSocket({ type: "udp4", reuseAddr: false });
  const counts = { OFFER: 0, ACK: 0, NAK: 0 };
  const log = options.logger;
  socket.on("message", (buf) => {
    const req = decodeMessage(buf);
    if (!req) return;
    const r = respond(req, leases);
    if (r.kind === "ignore") {
      log?.debug({ mac: req.chaddr, reason: r.reason }, "dhcp request ignored");
      return;
    }
    counts[r.type] += 1;
    socket.send(encodeMessage(r.message), options.clientPort ?? 68, r.to, (err) => {
      if (err) log?.warn({ err, to: r.to, type: r.type }, "dhcp reply not sent");
      else
        log?.info(
          { type: r.type, mac: r.lease.mac, ip: r.lease.ip, interface: r.lease.interface },
          `dhcp ${r.type}`,
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (err) =>
      reject(
        new NetworkError(
          "SERVICE_FAILED",
          `the DHCP server cannot bind UDP port ${options.port ?? 67}: ${err.message} ` +
            `(the network setup lowers net.ipv4.ip_unprivileged_port_start to 67; did it run?)`,
          { cause: err },
        ),
      ),
    );
    socket.bind({ port: options.port ?? 67, address: "0.0.0.0", exclusive: true }, () => resolve());
  });
  socket.on("error", (err) => log?.error({ err }, "dhcp socket error"));
  return {
    counts: () => ({ ...counts }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
