/**
 * DHCPv4 messages (RFC 2131/2132) as plain data, and their wire format. Only what a server handing out
 * static leases needs: the fixed BOOTP header and options as byte strings.
 */

/** DHCP message types (option 53). */
export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** Option codes used by the server. */
export const Option = {
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
} as const;

/** A decoded DHCP message. Addresses are dotted quads, the MAC lower-case with colons. */
export interface DhcpMessage {
  op: 1 | 2;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address (Ethernet only). */
  chaddr: string;
  /** Options by code; repeated options are concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

const MAGIC = Buffer.from([99, 130, 83, 99]);
const HEADER = 236;
/** BOOTP's minimum message size; some clients drop shorter replies. */
const MIN_SIZE = 300;

const readIp = (b: Buffer, at: number) => [...b.subarray(at, at + 4)].join(".");
const writeIp = (b: Buffer, at: number, ip: string) =>
  ip.split(".").forEach((o, i) => b.writeUInt8(Number(o), at + i));

/**
 * The largest request the server reads. A client message is ~300–600 bytes (RFC 2131 lets a client send
 * more only after the server announced a larger option 57, which this server never does); anything bigger
 * is a guest (or a neighbour) trying to make the launcher work, so it is dropped before it is parsed.
 */
export const MAX_REQUEST_BYTES = 1500;

/**
 * Reads the options area linearly: every instance of a code is collected and each code is joined once
 * (RFC 3396), so a packet of thousands of repeated options costs one pass over its bytes — not one copy
 * of the value so far per instance, which made a 64 KB packet cost ~100 ms. Undefined when truncated.
 */
export function decodeOptions(buf: Buffer, from: number): Map<number, Buffer> | undefined {
  const parts = new Map<number, Buffer[]>();
  for (let at = from; at < buf.length;) {
    const code = buf[at]!;
    if (code === 255) break;
    if (code === 0) {
      at += 1;
      continue;
    }
    if (at + 1 >= buf.length) return undefined;
    const len = buf[at + 1]!;
    if (at + 2 + len > buf.length) return undefined;
    const value = buf.subarray(at + 2, at + 2 + len);
    const list = parts.get(code);
    if (list) list.push(value);
    else parts.set(code, [value]);
    at += 2 + len;
  }
  const options = new Map<number, Buffer>();
  for (const [code, list] of parts) options.set(code, Buffer.concat(list));
  return options;
}

/**
 * Decodes a message; undefined when it is not an Ethernet DHCP message or is larger than `maxBytes`
 * ({@link MAX_REQUEST_BYTES} by default).
 */
export function decodeMessage(buf: Buffer, maxBytes = MAX_REQUEST_BYTES): DhcpMessage | undefined {
  if (buf.length > maxBytes) return undefined;
  if (buf.length < HEADER + 4 || !buf.subarray(HEADER, HEADER + 4).equals(MAGIC)) return undefined;
  const op = buf.readUInt8(0);
  if ((op !== 1 && op !== 2) || buf.readUInt8(1) !== 1 || buf.readUInt8(2) !== 6) return undefined;
  const options = decodeOptions(buf, HEADER + 4);
  if (!options) return undefined;
  return {
    op,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: readIp(buf, 12),
    yiaddr: readIp(buf, 16),
    siaddr: readIp(buf, 20),
    giaddr: readIp(buf, 24),
    chaddr: [...buf.subarray(28, 34)].map((b) => b.toString(16).padStart(2, "0")).join(":"),
    options,
  };
}

/** Encodes a message; options longer than 255 bytes are split into consecutive instances (RFC 3396). */
export function encodeMessage(m: DhcpMessage): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt8(m.op, 0);
  header.writeUInt8(1, 1);
  header.writeUInt8(6, 2);
  header.writeUInt32BE(m.xid, 4);
  header.writeUInt16BE(m.secs, 8);
  header.writeUInt16BE(m.flags, 10);
  writeIp(header, 12, m.ciaddr);
  writeIp(header, 16, m.yiaddr);
  writeIp(header, 20, m.siaddr);
  writeIp(header, 24, m.giaddr);
  m.chaddr.split(":").forEach((h, i) => header.writeUInt8(parseInt(h, 16), 28 + i));
  const parts: Buffer[] = [header, MAGIC];
  for (const [code, value] of m.options) {
    for (let at = 0; at === 0 || at < value.length; at += 255) {
      const chunk = value.subarray(at, at + 255);
      parts.push(Buffer.from([code, chunk.length]), chunk);
    }
  }
  parts.push(Buffer.from([255]));
  const out = Buffer.concat(parts);
  return out.length >= MIN_SIZE ? out : Buffer.concat([out, Buffer.alloc(MIN_SIZE - out.length)]);
}

/** Option value helpers. */
export const encode = {
  ips: (ips: readonly string[]) => {
    const b = Buffer.alloc(4 * ips.length);
    ips.forEach((ip, i) => writeIp(b, 4 * i, ip));
    return b;
  },
  u8: (n: number) => Buffer.from([n]),
  u16: (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  },
  u32: (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  },
  text: (s: string) => Buffer.from(s, "utf8"),
  /** RFC 3397 domain search list: RFC 1035 names, uncompressed. */
  domains: (names: readonly string[]) =>
    Buffer.concat(
      names.map((n) =>
        Buffer.concat([
          ...n
            .replace(/\.$/, "")
            .split(".")
            .filter(Boolean)
            .map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])),
          Buffer.from([0]),
        ]),
      ),
    ),
  /** RFC 3442 classless static routes: prefix length, significant destination octets, router. */
  routes: (routes: ReadonlyArray<{ dst: string; via: string }>) =>
    Buffer.concat(
      routes.map((r) => {
        const [addr, len] = r.dst.split("/");
        const prefix = Number(len);
        const octets = addr!
          .split(".")
          .slice(0, Math.ceil(prefix / 8))
          .map(Number);
        return Buffer.concat([Buffer.from([prefix, ...octets]), encode.ips([r.via])]);
      }),
    ),
};

/** Reads an IPv4 address option. */
export function optionIp(m: DhcpMessage, code: number): string | undefined {
  const v = m.options.get(code);
  return v && v.length >= 4 ? readIp(v, 0) : undefined;
}
