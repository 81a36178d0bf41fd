import { describe, expect, it } from "vitest";
import { cidrs6Overlap, ipv6ToBigInt, parseCidr6 } from "./ipv6.ts";

describe("ipv6", () => {
  it("expands :: and an embedded IPv4 tail", () => {
    expect(ipv6ToBigInt("::1")).toBe(1n);
    expect(ipv6ToBigInt("fd10:0:2::2")).toBe((0xfd10n << 112n) | (2n << 80n) | 2n);
    expect(ipv6ToBigInt("::ffff:10.0.0.1")).toBe((0xffffn << 32n) | 0x0a000001n);
    expect(ipv6ToBigInt("1:2:3:4:5:6:7:8")).toBe(0x00010002000300040005000600070008n);
    expect(() => ipv6ToBigInt("10.0.0.1")).toThrow(RangeError);
  });

  it("parses prefixes and refuses malformed ones", () => {
    expect(parseCidr6("fd10:0:2::/120")).toEqual({ address: "fd10:0:2::", prefixLength: 120 });
    expect(parseCidr6("fe80::1")).toEqual({ address: "fe80::1", prefixLength: 128 });
    for (const bad of ["fd10::/129", "fd10::/x", "10.0.0.0/8", "fd10::/64/1", ""])
      expect(parseCidr6(bad)).toBeUndefined();
  });

  it("tells overlapping prefixes from disjoint ones", () => {
    const guest = { address: "fd10:0:2::", prefixLength: 120 };
    expect(cidrs6Overlap(guest, { address: "fd10::", prefixLength: 16 })).toBe(true);
    expect(cidrs6Overlap(guest, { address: "fd10:0:2::ff", prefixLength: 128 })).toBe(true);
    expect(cidrs6Overlap(guest, { address: "fd10:0:2::100", prefixLength: 128 })).toBe(false);
    expect(cidrs6Overlap(guest, { address: "fd00:10:244:1::", prefixLength: 64 })).toBe(false);
    expect(cidrs6Overlap(guest, { address: "::", prefixLength: 0 })).toBe(true);
  });
});
