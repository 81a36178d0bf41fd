import { describe, expect, it } from "vitest";
import type { NetPlan } from "../../launcher/network/plan-types.ts";
import { vetPlan } from "./vet.ts";

const owner = { uid: 107, gid: 107 };
const plan = (steps: NetPlan["steps"]) => ({ steps }) as unknown as NetPlan;

describe("vetPlan", () => {
  it("lets the planner's usual steps through", () => {
    expect(() =>
      vetPlan(
        plan([
          {
            op: "sysctl",
            key: "net.ipv4.ip_unprivileged_port_start",
            value: 67,
            mode: "atMost",
            purpose: "DHCP",
          },
          { op: "sysctl", key: "net.ipv6.conf.k6t-eth0.disable_ipv6", value: 1, mode: "exact", purpose: "x" },
          { op: "bridge", name: "k6t-eth0", mac: "02:00:00:00:00:01" },
          { op: "tap", name: "tap0", uid: 107, gid: 107 },
          { op: "link", dev: "tap0", master: "k6t-eth0", up: true },
          { op: "addr", dev: "eth0", cidr: "10.1.2.3/24", present: false },
          { op: "route", dst: "fd10:0:2::/120", dev: "k6t-eth0" },
          { op: "nftables", family: "ip", table: "vireo", digest: "d", ruleset: "table ip vireo {}" },
        ]),
        owner,
      ),
    ).not.toThrow();
  });

  it.each([
    ["a global sysctl", { op: "sysctl", key: "kernel.core_pattern", value: 1, mode: "exact", purpose: "x" }],
    [
      "a sysctl with a path",
      { op: "sysctl", key: "net.ipv4.conf.../../kernel", value: 1, mode: "exact", purpose: "x" },
    ],
    ["an ip word smuggled in a name", { op: "link", dev: "eth0 netns 1", up: true }],
    ["a tap for another user", { op: "tap", name: "tap0", uid: 0, gid: 0 }],
    [
      "an nft include",
      { op: "nftables", family: "ip", table: "t", digest: "d", ruleset: 'include "/etc/shadow"' },
    ],
    ["an address with words", { op: "addr", dev: "eth0", cidr: "10.0.0.1/24 dev lo", present: true }],
  ])("refuses %s", (_what, step) => {
    expect(() => vetPlan(plan([step as NetPlan["steps"][number]]), owner)).toThrow(/refused/);
  });
});
