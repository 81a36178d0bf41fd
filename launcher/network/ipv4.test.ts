import { describe, expect, it } from "vitest";
import {
  cidrContains,
  cidrsOverlap,
  intToIpv4,
  ipv4ToInt,
  netmaskOf,
  networkOf,
  nthAddress,
  parseCidr4,
} from "./ipv4.ts";

describe("ipv4", () => {
  it("converts between dotted quads and integers", () => {
    expect(ipv4ToInt("10.0.2.15")).toBe(167772687);
    expect(intToIpv4(167772687)).toBe("10.0.2.15");
    expect(intToIpv4(ipv4ToInt("255.255.255.255"))).toBe("255.255.255.255");
    expect(() => ipv4ToInt("10.0.2")).toThrow(RangeError);
  });

  it("parses CIDRs and rejects malformed ones", () => {
    expect(parseCidr4("10.0.2.0/24")).toEqual({ address: "10.0.2.0", prefixLength: 24 });
    expect(parseCidr4("10.0.2.7")).toEqual({ address: "10.0.2.7", prefixLength: 32 });
    for (const bad of ["10.0.2.0/33", "10.0.2.0/", "10.0.2/24", "fd00::/64", "10.0.2.0/24/1", "10.0.2.0/x"])
      expect(parseCidr4(bad), bad).toBeUndefined();
  });

  it("computes networks, masks and host addresses", () => {
    expect(networkOf({ address: "198.18.1.10", prefixLength: 24 })).toBe("198.18.1.0");
    expect(networkOf({ address: "198.18.1.10", prefixLength: 32 })).toBe("198.18.1.10");
    expect(networkOf({ address: "198.18.1.10", prefixLength: 0 })).toBe("0.0.0.0");
    expect(netmaskOf(24)).toBe("255.255.255.0");
    expect(netmaskOf(20)).toBe("255.255.240.0");
    expect(netmaskOf(32)).toBe("255.255.255.255");
    expect(netmaskOf(0)).toBe("0.0.0.0");
    expect(nthAddress({ address: "10.0.2.0", prefixLength: 24 }, 2)).toBe("10.0.2.2");
  });

  it("answers membership and overlap", () => {
    const pod = { address: "10.244.1.0", prefixLength: 24 };
    expect(cidrContains(pod, "10.244.1.255")).toBe(true);
    expect(cidrContains(pod, "10.244.2.0")).toBe(false);
    expect(cidrsOverlap(pod, { address: "10.244.0.0", prefixLength: 16 })).toBe(true);
    expect(cidrsOverlap({ address: "10.244.0.0", prefixLength: 16 }, pod)).toBe(true);
    expect(cidrsOverlap(pod, { address: "10.0.2.0", prefixLength: 24 })).toBe(false);
  });
});
