import { describe, expect, it } from "vitest";
import { bridgeDhcpRuleset, masqueradeRuleset } from "./nftables.ts";

const base = {
  podInterface: "eth0",
  bridge: "k6t-eth0",
  podIp: "10.244.1.5",
  gatewayIp: "10.0.2.1",
  guestIp: "10.0.2.2",
  ownPorts: [9100, 5900],
};

describe("masqueradeRuleset", () => {
  it("DNATs declared ports from inside the pod only, maps the pod's own egress ports, SNATs the loopback hairpin", () => {
    const { ruleset } = masqueradeRuleset({
      ...base,
      ports: {
        declared: [
          { port: 443, protocol: "TCP" },
          { port: 80, protocol: "TCP" },
        ],
      },
    });
    const lines = ruleset.split("\n").map((l) => l.trim());
    // From the pod network the netdev table carries the guest's traffic: no prerouting, no masquerade.
    expect(ruleset).not.toMatch(/prerouting|masquerade/);
    expect(lines).toContain("ip daddr { 127.0.0.1, 10.244.1.5 } tcp dport { 80, 443 } dnat to 10.0.2.2");
    expect(lines).toContain(
      'ip saddr 10.244.1.5 oifname "eth0" meta l4proto { tcp, udp } snat to 10.244.1.5:32000-32767',
    );
    expect(lines).toContain('ip saddr 127.0.0.1 oifname "k6t-eth0" snat to 10.0.2.1');
    expect(ruleset).not.toMatch(/udp dport .*dnat/);
    expect(ruleset.startsWith("table ip vireo {\n")).toBe(true);
  });

  it("excludes ports in all-ports mode, for both protocols", () => {
    const { ruleset } = masqueradeRuleset({ ...base, ports: { allExcept: [9100, 15021, 9100] } });
    expect(ruleset).toContain(
      "ip daddr { 127.0.0.1, 10.244.1.5 } tcp dport != { 9100, 15021 } dnat to 10.0.2.2",
    );
    expect(ruleset).toContain(
      "ip daddr { 127.0.0.1, 10.244.1.5 } udp dport != { 9100, 15021 } dnat to 10.0.2.2",
    );
  });

  it("has a digest that follows the rules and is recorded in the table comment", () => {
    const a = masqueradeRuleset({ ...base, ports: { declared: [{ port: 80, protocol: "TCP" }] } });
    const again = masqueradeRuleset({ ...base, ports: { declared: [{ port: 80, protocol: "TCP" }] } });
    const b = masqueradeRuleset({ ...base, ports: { declared: [{ port: 81, protocol: "TCP" }] } });
    expect(a.digest).toBe(again.digest);
    expect(a.digest).not.toBe(b.digest);
    expect(a.ruleset).toContain(`comment "vireo ${a.digest}"`);
  });

  it("filters input: DHCP only from the guest's bridge; the guest reaches no loopback address and none of our ports", () => {
    const { ruleset } = masqueradeRuleset({ ...base, ports: { allExcept: [9100] } });
    const input = ruleset.slice(ruleset.indexOf("chain input"));
    const lines = input.split("\n").map((l) => l.trim());
    expect(lines.slice(1, 6)).toEqual([
      "type filter hook input priority 0; policy accept;",
      'iifname "eth0" udp dport 67 drop',
      'iifname "k6t-eth0" ct state established,related accept',
      'iifname "k6t-eth0" ip daddr 127.0.0.0/8 drop',
      'iifname "k6t-eth0" tcp dport { 5900, 9100 } drop',
    ]);
  });
});

describe("bridgeDhcpRuleset", () => {
  it("drops DHCP requests from the pod network and pod-network DHCP replies to the guest", () => {
    const { ruleset } = bridgeDhcpRuleset({ tap: "tap0", podInterface: "eth0" });
    const lines = ruleset.split("\n").map((l) => l.trim());
    expect(lines[0]).toBe("table bridge vireo {");
    expect(lines).toContain('iifname "eth0" udp dport 67 drop');
    expect(lines).toContain('iifname "eth0" oifname "tap0" udp sport 67 udp dport 68 drop');
  });
});
