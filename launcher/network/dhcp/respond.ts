/** What the DHCP server answers to a request, as a pure function of the request and the static leases. */
import { netmaskOf, networkOf, nthAddress } from "../ipv4.ts";
import type { DhcpLease } from "../plan-types.ts";
import { encode, MessageType, Option, optionIp, type DhcpMessage } from "./packet.ts";

/** A reply and where to send it, or why there is none. */
export type Response =
  | { kind: "reply"; message: DhcpMessage; to: string; type: "OFFER" | "ACK" | "NAK"; lease: DhcpLease }
  | { kind: "ignore"; reason: string };

const INFINITE = 0xffffffff;

/** The options a lease carries (everything the pod knows; clients ignore what they do not use). */
function leaseOptions(l: DhcpLease, withLeaseTime: boolean): Map<number, Buffer> {
  const o = new Map<number, Buffer>();
  o.set(Option.SERVER_ID, encode.ips([l.serverAddress]));
  if (withLeaseTime) o.set(Option.LEASE_TIME, encode.u32(INFINITE));
  o.set(Option.SUBNET_MASK, encode.ips([netmaskOf(l.prefixLength)]));
  if (l.prefixLength < 31) {
    const subnet = { address: l.ip, prefixLength: l.prefixLength };
    o.set(
      Option.BROADCAST,
      encode.ips([
        nthAddress(
          { address: networkOf(subnet), prefixLength: l.prefixLength },
          2 ** (32 - l.prefixLength) - 1,
        ),
      ]),
    );
  }
  if (l.router) o.set(Option.ROUTER, encode.ips([l.router]));
  if (l.routes.length) o.set(Option.CLASSLESS_ROUTES, encode.routes(l.routes));
  if (l.dns.length) o.set(Option.DNS, encode.ips(l.dns));
  if (l.search.length) {
    o.set(Option.DOMAIN_NAME, encode.text(l.search[0]!));
    o.set(Option.DOMAIN_SEARCH, encode.domains(l.search));
  }
  if (l.hostname) o.set(Option.HOSTNAME, encode.text(l.hostname));
  o.set(Option.MTU, encode.u16(l.mtu));
  return o;
}

function reply(req: DhcpMessage, type: number, yiaddr: string, options: Map<number, Buffer>): DhcpMessage {
  const withType = new Map<number, Buffer>([[Option.MESSAGE_TYPE, encode.u8(type)], ...options]);
  return {
    op: 2,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: type === MessageType.NAK ? "0.0.0.0" : req.ciaddr,
    yiaddr,
    siaddr: "0.0.0.0",
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    options: withType,
  };
}

/**
 * Answers one request. Leases are static and keyed by MAC, so the arrival interface does not matter and a
 * client the plan does not know is ignored (the pod interface may see other hosts' broadcasts).
 * Replies are unicast to the leased address, whatever address the request names; the plan's /32 route and permanent neighbour entry carry
 * them to a client that has no address yet, which is what lets this run without capabilities.
 */
export function respond(req: DhcpMessage, leases: readonly DhcpLease[]): Response {
  if (req.op !== 1) return { kind: "ignore", reason: "not a request" };
  if (req.giaddr !== "0.0.0.0") return { kind: "ignore", reason: "relayed" };
  const lease = leases.find((l) => l.mac === req.chaddr);
  if (!lease) return { kind: "ignore", reason: `unknown client ${req.chaddr}` };
  const type = req.options.get(Option.MESSAGE_TYPE)?.[0];
  const server = optionIp(req, Option.SERVER_ID);
  // Replies only ever go to the leased address (which the plan routes to the guest's tap), never to an
  // address the packet names: a forged ciaddr must not turn the server into a reflector.
  if (req.ciaddr !== "0.0.0.0" && req.ciaddr !== lease.ip && type !== MessageType.REQUEST)
    return { kind: "ignore", reason: `client address ${req.ciaddr} is not the lease's` };
  const to = (m: DhcpMessage, t: "OFFER" | "ACK" | "NAK"): Response => ({
    kind: "reply",
    message: m,
    to: lease.ip,
    type: t,
    lease,
  });
  switch (type) {
    case MessageType.DISCOVER:
      return to(reply(req, MessageType.OFFER, lease.ip, leaseOptions(lease, true)), "OFFER");
    case MessageType.REQUEST: {
      // A client that chose another server's offer is not ours to answer.
      if (server && server !== lease.serverAddress)
        return { kind: "ignore", reason: `client chose server ${server}` };
      const wanted =
        optionIp(req, Option.REQUESTED_IP) ?? (req.ciaddr !== "0.0.0.0" ? req.ciaddr : undefined);
      if (wanted !== lease.ip) {
        // Authoritative: a stale address (e.g. from another pod's lease) is refused at once, so the
        // client falls back to DISCOVER instead of timing out.
        const nak = reply(
          req,
          MessageType.NAK,
          "0.0.0.0",
          new Map([[Option.SERVER_ID, encode.ips([lease.serverAddress])]]),
        );
        // RFC 2131 broadcasts a NAK; unicast to the client's MAC (via the neighbour entry) reaches it too.
        return { kind: "reply", message: nak, to: lease.ip, type: "NAK", lease };
      }
      return to(reply(req, MessageType.ACK, lease.ip, leaseOptions(lease, true)), "ACK");
    }
    case MessageType.INFORM:
      return to(reply(req, MessageType.ACK, "0.0.0.0", leaseOptions(lease, false)), "ACK");
    default:
      return { kind: "ignore", reason: `message type ${type ?? "none"}` };
  }
}

/** Where a datagram came from, as the socket reports it. */
export interface Source {
  address: string;
  port: number;
}

/**
 * Whether a datagram may be parsed at all, before any parsing. A guest's DHCP client sends from port 68,
 * from 0.0.0.0 before it has an address and from its leased address when renewing; anything else
 * (another pod on the pod network, a forwarded port, a host process) is dropped unread. Pure.
 */
export function admitSource(src: Source, leases: readonly DhcpLease[], clientPort = 68): string | undefined {
  if (src.port !== clientPort) return `source port ${src.port}`;
  if (src.address !== "0.0.0.0" && !leases.some((l) => l.ip === src.address))
    return `source address ${src.address}`;
  return undefined;
}
