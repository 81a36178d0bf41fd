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
import { LogLimiter } from "../../limits/log-limit.ts";
import { TokenBucket } from "../../limits/token-bucket.ts";
import { decodeMessage, encodeMessage, MAX_REQUEST_BYTES } from "./packet.ts";
import { admitSource, respond } from "./respond.ts";

/**
 * Requests parsed per second (burst twice that). A DHCP client sends a few packets a minute (DISCOVER and
 * REQUEST with retries at 4, 8, 16 s); the rest of a flood is dropped before it is parsed.
 */
export const DHCP_REQUESTS_PER_SECOND = 20;

/** A running DHCP server. */
export interface DhcpServer {
  /** Replies sent so far, by type, and datagrams dropped unread, by reason (for metrics and tests). */
  counts(): Record<"OFFER" | "ACK" | "NAK" | "oversized" | "foreign" | "rateLimited" | "malformed", number>;
  close(): Promise<void>;
}

/** Options of {@link startDhcpServer}. */
export interface DhcpServerOptions {
  /** Default 67; tests may use another. */
  port?: number;
  /** Default 68. */
  clientPort?: number;
  logger?: Logger;
  /** Requests parsed per second (default {@link DHCP_REQUESTS_PER_SECOND}); tests lower it. */
  requestsPerSecond?: number;
}

/** Binds 0.0.0.0:67 and answers requests from the leases' MACs. */
export async function startDhcpServer(
  leases: readonly DhcpLease[],
  options: DhcpServerOptions = {},
): Promise<DhcpServer> {
  const socket: Socket = createSocket({ type: "udp4", reuseAddr: false });
  const counts = { OFFER: 0, ACK: 0, NAK: 0, oversized: 0, foreign: 0, rateLimited: 0, malformed: 0 };
  const log = options.logger ? new LogLimiter(options.logger) : undefined;
  const rate = options.requestsPerSecond ?? DHCP_REQUESTS_PER_SECOND;
  const bucket = new TokenBucket(rate, 2 * rate);
  const clientPort = options.clientPort ?? 68;
  const drop = (reason: keyof typeof counts, data: object) => {
    counts[reason] += 1;
    log?.log("debug", `dhcp-drop-${reason}`, { ...data, reason }, "dhcp datagram dropped");
  };
  // Everything here runs for each datagram the guest (or anyone who can reach the socket) sends, so the
  // cheap checks come first and nothing is parsed beyond a bounded size at a bounded rate.
  socket.on("message", (buf, rinfo) => {
    if (buf.length > MAX_REQUEST_BYTES) return drop("oversized", { bytes: buf.length, from: rinfo.address });
    const foreign = admitSource(rinfo, leases, clientPort);
    if (foreign) return drop("foreign", { from: `${rinfo.address}:${rinfo.port}`, why: foreign });
    if (!bucket.take()) return drop("rateLimited", { from: rinfo.address });
    const req = decodeMessage(buf);
    if (!req) return drop("malformed", { bytes: buf.length, from: rinfo.address });
    const r = respond(req, leases);
    if (r.kind === "ignore") {
      log?.log("debug", "dhcp-ignored", { mac: req.chaddr, reason: r.reason }, "dhcp request ignored");
      return;
    }
    counts[r.type] += 1;
    socket.send(encodeMessage(r.message), clientPort, r.to, (err) => {
      if (err) log?.log("warn", "dhcp-send-failed", { err, to: r.to, type: r.type }, "dhcp reply not sent");
      else
        log?.log(
          "info",
          `dhcp-${r.type}`,
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
  socket.on("error", (err) => log?.log("error", "dhcp-socket", { err }, "dhcp socket error"));
  return {
    counts: () => ({ ...counts }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
