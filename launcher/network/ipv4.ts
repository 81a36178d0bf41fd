/**
 * IPv4 arithmetic for planning (subnet membership, overlap, masks). Hand-written because it is four small
 * functions over 32-bit integers; node:net's BlockList answers membership but not overlap or masks.
 */
import { isIPv4 } from "node:net";

/** An IPv4 network or address with its prefix length. */
export interface Cidr4 {
  address: string;
  prefixLength: number;
}

/** The address as an unsigned 32-bit integer. */
export function ipv4ToInt(address: string): number {
  if (!isIPv4(address)) throw new RangeError(`not an IPv4 address: ${address}`);
  return address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An unsigned 32-bit integer as a dotted quad. */
export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/len` (a bare address is a /32); undefined when malformed. */
export function parseCidr4(text: string): Cidr4 | undefined {
  const [address, len, extra] = text.split("/");
  if (extra !== undefined || !address || !isIPv4(address)) return undefined;
  if (len === undefined) return { address, prefixLength: 32 };
  if (!/^\d{1,2}$/.test(len) || Number(len) > 32) return undefined;
  return { address, prefixLength: Number(len) };
}

/** Number of addresses in a prefix. */
const size = (prefixLength: number) => 2 ** (32 - prefixLength);

/** The first address of the network `cidr` lies in. */
export function networkOf(cidr: Cidr4): string {
  const n = ipv4ToInt(cidr.address);
  return intToIpv4(n - (n % size(cidr.prefixLength)));
}

/** The dotted netmask of a prefix length (24 → 255.255.255.0). */
export function netmaskOf(prefixLength: number): string {
  return intToIpv4(2 ** 32 - size(prefixLength));
}

/** Whether `address` lies inside `cidr`. */
export function cidrContains(cidr: Cidr4, address: string): boolean {
  const start = ipv4ToInt(networkOf(cidr));
  const n = ipv4ToInt(address);
  return n >= start && n < start + size(cidr.prefixLength);
}

/** Whether two networks share at least one address. */
export function cidrsOverlap(a: Cidr4, b: Cidr4): boolean {
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, networkOf(longer));
}

/** The `offset`-th address of the network (`offset` 1 is the first host). */
export function nthAddress(cidr: Cidr4, offset: number): string {
  return intToIpv4(ipv4ToInt(networkOf(cidr)) + offset);
}

/** `a.b.c.d/len` text. */
export function formatCidr(cidr: Cidr4): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}
