/**
 * IPv6 arithmetic for planning: parsing and overlap of prefixes over 128-bit BigInts. Hand-written for the
 * same reason as ipv4.ts: node:net validates addresses (isIPv6) but has no prefix arithmetic.
 */
import { isIPv6 } from "node:net";

/** An IPv6 network or address with its prefix length. */
export interface Cidr6 {
  address: string;
  prefixLength: number;
}

/** The address as a 128-bit integer (`::` expanded, an embedded IPv4 tail read as two groups). */
export function ipv6ToBigInt(address: string): bigint {
  if (!isIPv6(address)) throw new RangeError(`not an IPv6 address: ${address}`);
  let text = address.split("%")[0]!;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses `addr/len` (a bare address is a /128); undefined when malformed. */
export function parseCidr6(text: string): Cidr6 | undefined {
  const [address, len, extra] = text.split("/");
  if (extra !== undefined || !address || !isIPv6(address)) return undefined;
  if (len === undefined) return { address, prefixLength: 128 };
  if (!/^\d{1,3}$/.test(len) || Number(len) > 128) return undefined;
  return { address, prefixLength: Number(len) };
}

const mask = (prefixLength: number) =>
  prefixLength === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefixLength)) - 1n);

/** Whether two prefixes share at least one address. */
export function cidrs6Overlap(a: Cidr6, b: Cidr6): boolean {
  const m = mask(Math.min(a.prefixLength, b.prefixLength));
  return (ipv6ToBigInt(a.address) & m) === (ipv6ToBigInt(b.address) & m);
}
