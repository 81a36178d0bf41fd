import { describe, expect, it } from "vitest";
import type { LauncherInterface } from "../../crds/launcher/config.ts";
import { NetworkError } from "./errors.ts";
import type { PodFacts } from "./facts.ts";
import { bridgeName, guestRoutes, planNeedsPrivilege, planNetwork } from "./plan.ts";
import { hostMac } from "./plan-common.ts";
import type { HostStep, NetPlan } from "./plan-types.ts";
import { testLauncherConfig } from "./testing/config.ts";

const POD_MAC = "0a:58:0a:f4:01:05";

function podFacts(over: Partial<PodFacts> = {}): PodFacts {
  return {
    interfaces: [
      {
        name: "eth0",
        mac: POD_MAC,
        mtu: 1450,
        addresses: [{ family: 4, address: "10.244.1.5", prefixLength: 24 }],
      },
    ],
    routes: [
      { family: 4, dst: "default", gateway: "10.244.1.1", dev: "eth0" },
      { family: 4, dst: "10.244.1.0/24", dev: "eth0", scope: "link" },
    ],
    dns: {
      nameservers: ["10.96.0.10", "fd00::10"],
      searches: ["ns1.svc.cluster.local", "svc.cluster.local"],
    },
    ...over,
  };
}

const hostMacOf = (c: { interfaces: { mac: string }[] }) => hostMac(c.interfaces[0]!.mac, "bridge");

const config = (
  nic: Partial<LauncherInterface> & Pick<LauncherInterface, "binding">,
  extra: LauncherInterface[] = [],
) => testLauncherConfig("/var/run/vireo", nic, extra);

function expectError(fn: () => unknown, code: string, field?: string): NetworkError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NetworkError);
    const e = err as NetworkError;
    expect(e.code).toBe(code);
    if (field !== undefined) expect(e.field).toBe(field);
    return e;
  }
  throw new Error(`expected a NetworkError ${code}`);
}

const stepsOf = <K extends HostStep["op"]>(plan: NetPlan, op: K) =>
  plan.steps.filter((s): s is Extract<HostStep, { op: K }> => s.op === op);

describe("planNetwork: bridge", () => {
  const plan = planNetwork(config({ binding: "bridge" }), podFacts());

  it("moves the pod's MAC and address to the guest", () => {
    expect(plan.nics).toEqual([
      {
        name: "default",
        binding: "bridge",
        model: "virtio",
        mac: POD_MAC,
        mtu: 1450,
        backend: { kind: "tap", ifname: "tap0", bridge: "k6t-eth0" },
        podInterface: "eth0",
        guestIps: ["10.244.1.5"],
      },
    ]);
    expect(stepsOf(plan, "addr")).toContainEqual({
      op: "addr",
      dev: "eth0",
      cidr: "10.244.1.5/24",
      present: false,
    });
  });

  it("gives eth0 and the bridge MACs other than the guest's, and turns learning off on eth0", () => {
    const bridge = stepsOf(plan, "bridge")[0]!;
    const eth0 = stepsOf(plan, "link").find((s) => s.dev === "eth0")!;
    expect(bridge.name).toBe("k6t-eth0");
    expect(new Set([bridge.mac, eth0.mac, POD_MAC]).size).toBe(3);
    expect(eth0).toMatchObject({ master: "k6t-eth0", learning: false, up: true });
    for (const mac of [bridge.mac, eth0.mac!]) expect(parseInt(mac.slice(0, 2), 16) & 0b11).toBe(0b10);
  });

  it("creates the tap owned by the launcher's user, on the bridge, with the pod's MTU", () => {
    expect(stepsOf(plan, "tap")).toEqual([{ op: "tap", name: "tap0", uid: 107, gid: 107 }]);
    expect(stepsOf(plan, "link").find((s) => s.dev === "tap0")).toEqual({
      op: "link",
      dev: "tap0",
      mtu: 1450,
      master: "k6t-eth0",
      up: true,
    });
    expect(stepsOf(plan, "link").find((s) => s.dev === "k6t-eth0")).toMatchObject({ mtu: 1450, up: true });
  });

  it("prepares unicast DHCP to an unconfigured guest: link-local server address, /32 route, neighbour", () => {
    expect(stepsOf(plan, "addr")).toContainEqual({
      op: "addr",
      dev: "k6t-eth0",
      cidr: "169.254.75.10/32",
      present: true,
    });
    expect(stepsOf(plan, "route")).toEqual([{ op: "route", dst: "10.244.1.5/32", dev: "k6t-eth0" }]);
    expect(stepsOf(plan, "neigh")).toEqual([
      { op: "neigh", dev: "k6t-eth0", address: "10.244.1.5", mac: POD_MAC },
    ]);
    expect(plan.steps[0]).toMatchObject({
      op: "sysctl",
      key: "net.ipv4.ip_unprivileged_port_start",
      value: 67,
      mode: "atMost",
    });
  });

  it("leases the pod IP with the pod's gateway, IPv4 DNS, search list and MTU", () => {
    expect(plan.dhcp?.leases).toEqual([
      {
        interface: "k6t-eth0",
        serverAddress: "169.254.75.10",
        mac: POD_MAC,
        ip: "10.244.1.5",
        prefixLength: 24,
        router: "10.244.1.1",
        routes: [],
        dns: ["10.96.0.10"],
        search: ["ns1.svc.cluster.local", "svc.cluster.local"],
        mtu: 1450,
        hostname: "testvm",
      },
    ]);
  });

  it("orders the steps so the bridge exists before eth0 loses its address", () => {
    const ops = plan.steps.map((s) => (s.op === "link" || s.op === "addr" ? `${s.op}:${s.dev}` : s.op));
    expect(ops.indexOf("bridge")).toBeLessThan(ops.indexOf("addr:eth0"));
    expect(ops.indexOf("addr:eth0")).toBeLessThan(ops.indexOf("link:eth0"));
  });

  it("warns that a configured MAC gives way to the pod's", () => {
    const p = planNetwork(config({ binding: "bridge" }), podFacts());
    expect(p.warnings.join("\n")).toMatch(/gets eth0's MAC/);
    expect(planNetwork(config({ binding: "bridge", mac: POD_MAC }), podFacts()).warnings).toEqual([]);
  });

  it("splices declared TCP ports from 127.0.0.1 to the guest, never UDP or the launcher's own", () => {
    const ports = [
      { port: 8080, protocol: "TCP" as const },
      { port: 22, protocol: "TCP" as const },
      { port: 53, protocol: "UDP" as const },
      { port: 9100, protocol: "TCP" as const },
      { port: 22, protocol: "TCP" as const },
    ];
    const p = planNetwork(config({ binding: "bridge", mac: POD_MAC, ports }), podFacts());
    expect(p.splices).toEqual([
      { nic: "default", port: 22, guestIp: "10.244.1.5", sourceIp: "169.254.75.10" },
      { nic: "default", port: 8080, guestIp: "10.244.1.5", sourceIp: "169.254.75.10" },
    ]);
    expect(p.warnings).toEqual([
      expect.stringMatching(/port 53\/UDP is not reachable from 127.0.0.1 .*TCP only/),
      expect.stringMatching(/port 9100\/TCP is not reachable from 127.0.0.1 .*launcher's own/),
    ]);
    // Port 22 is below 1024: the launcher's user may bind it once the pod's limit allows.
    expect(stepsOf(p, "sysctl")[0]).toMatchObject({ key: "net.ipv4.ip_unprivileged_port_start", value: 22 });
    // The guest answers the bridge's address through its gateway's MAC: those frames are the bridge's.
    const table = stepsOf(p, "nftables").find((t) => t.family === "bridge")!;
    expect(table.ruleset).toContain(
      `iifname "tap0" ip daddr 169.254.75.10 ether daddr set ${hostMac(POD_MAC, "bridge")} meta pkttype set host`,
    );
    // Without ports: no splice, the table and the sysctl as before.
    const none = planNetwork(config({ binding: "bridge" }), podFacts());
    expect(none.splices).toBeUndefined();
    expect(stepsOf(none, "nftables")[0]!.ruleset).not.toContain("prerouting");
    expect(stepsOf(none, "sysctl")[0]).toMatchObject({ value: 67 });
  });

  it("hands a dual-stack pod's IPv6 address to the guest too: off eth0, in status, the guest configures it", () => {
    const facts = podFacts();
    facts.interfaces[0]!.addresses.push({ family: 6, address: "fd00:10:244:1::5", prefixLength: 64 });
    facts.routes.push({ family: 6, dst: "default", gateway: "fe80::1", dev: "eth0" });
    const p = planNetwork(config({ binding: "bridge", mac: POD_MAC }), facts);
    expect(p.warnings).toEqual([
      expect.stringMatching(/must configure the pod's IPv6 address fd00:10:244:1::5\/64 via fe80::1 itself/),
    ]);
    expect(stepsOf(p, "addr")).toContainEqual({
      op: "addr",
      dev: "eth0",
      cidr: "fd00:10:244:1::5/64",
      present: false,
    });
    expect(p.nics[0]!.guestIps).toEqual(["10.244.1.5", "fd00:10:244:1::5"]);
    expect(p.dhcp?.leases[0]?.ip).toBe("10.244.1.5");
  });

  it("serves an IPv6-only pod with no DHCPv4 and no splice, and refuses a pod with no address", () => {
    const facts = podFacts();
    facts.interfaces[0]!.addresses = [{ family: 6, address: "fd00:10:244:1::5", prefixLength: 64 }];
    const p = planNetwork(
      config({ binding: "bridge", mac: POD_MAC, ports: [{ port: 22, protocol: "TCP" }] }),
      facts,
    );
    expect(p.dhcp).toBeUndefined();
    expect(p.splices).toBeUndefined();
    expect(stepsOf(p, "sysctl")).toEqual([]);
    expect(stepsOf(p, "route")).toEqual([]);
    expect(p.nics[0]!.guestIps).toEqual(["fd00:10:244:1::5"]);
    expect(p.warnings.join("\n")).toMatch(/IPv6-only pod has no port-forward splice/);
    facts.interfaces[0]!.addresses = [];
    expectError(
      () => planNetwork(config({ binding: "bridge" }), facts),
      "FAMILY_UNSUPPORTED",
      "interfaces[0].binding",
    );
  });
});

describe("guestRoutes", () => {
  it("adds an on-link route to a gateway outside the subnet (Calico's /32 with 169.254.1.1)", () => {
    const routes = [
      { family: 4 as const, dst: "default", gateway: "169.254.1.1", dev: "eth0" },
      { family: 4 as const, dst: "169.254.1.1/32", dev: "eth0", scope: "link" },
    ];
    expect(guestRoutes("eth0", { address: "10.1.2.3", prefixLength: 32 }, routes)).toEqual({
      router: "169.254.1.1",
      routes: [
        { dst: "169.254.1.1/32", via: "0.0.0.0" },
        { dst: "0.0.0.0/0", via: "169.254.1.1" },
      ],
    });
  });

  it("carries extra routes with the default last, and only this interface's routes", () => {
    const routes = [
      { family: 4 as const, dst: "default", gateway: "10.244.1.1", dev: "eth0" },
      { family: 4 as const, dst: "10.244.1.0/24", dev: "eth0" },
      { family: 4 as const, dst: "10.96.0.0/12", gateway: "10.244.1.254", dev: "eth0" },
      { family: 4 as const, dst: "192.168.9.0/24", dev: "eth0" },
      { family: 4 as const, dst: "172.16.0.0/16", dev: "net1" },
    ];
    expect(guestRoutes("eth0", { address: "10.244.1.5", prefixLength: 24 }, routes).routes).toEqual([
      { dst: "192.168.9.0/24", via: "0.0.0.0" },
      { dst: "10.96.0.0/12", via: "10.244.1.254" },
      { dst: "0.0.0.0/0", via: "10.244.1.1" },
    ]);
  });

  it("needs no option 121 for a plain subnet with a gateway in it, and no router without a default route", () => {
    expect(guestRoutes("eth0", { address: "10.244.1.5", prefixLength: 24 }, podFacts().routes)).toEqual({
      router: "10.244.1.1",
      routes: [],
    });
    expect(guestRoutes("net1", { address: "192.168.50.7", prefixLength: 24 }, [])).toEqual({ routes: [] });
  });
});

describe("planNetwork: masquerade", () => {
  const declared = config({
    binding: "masquerade",
    ports: [
      { port: 8080, protocol: "TCP" },
      { port: 53, protocol: "UDP" },
    ],
  });

  it("puts the guest on the private subnet behind a bridge gateway, pod untouched", () => {
    const plan = planNetwork(declared, podFacts());
    expect(plan.nics[0]).toMatchObject({
      mac: declared.interfaces[0]!.mac,
      mtu: 1450,
      guestIps: ["10.0.2.2"],
    });
    expect(stepsOf(plan, "addr")).toEqual([
      { op: "addr", dev: "k6t-eth0", cidr: "10.0.2.1/24", present: true },
    ]);
    expect(stepsOf(plan, "link").some((s) => s.dev === "eth0")).toBe(false);
    expect(plan.dhcp?.leases[0]).toMatchObject({
      ip: "10.0.2.2",
      prefixLength: 24,
      router: "10.0.2.1",
      serverAddress: "10.0.2.1",
    });
    expect(stepsOf(plan, "sysctl").map((s) => `${s.key}=${s.value}`)).toEqual([
      "net.ipv4.ip_unprivileged_port_start=67",
      "net.ipv4.conf.k6t-eth0.route_localnet=1",
    ]);
  });

  it("forwards only the declared ports, through the netdev table (no ip_forward), replies by flags", () => {
    const [ip, netdev] = stepsOf(planNetwork(declared, podFacts()), "nftables");
    expect([ip!.family, netdev!.family]).toEqual(["ip", "netdev"]);
    const rules = netdev!.ruleset.split("\n").map((l) => l.trim());
    const toGuest = (m: string) =>
      `ip daddr 10.244.1.5 ${m} ip daddr set 10.0.2.2 ether saddr set ${hostMacOf(declared)} ether daddr set ${declared.interfaces[0]!.mac} fwd to "tap0"`;
    expect(rules).toContain(toGuest("tcp dport { 8080 }"));
    expect(rules).toContain(toGuest("udp dport { 53 }"));
    // Other TCP only when it is not a first SYN (replies to the guest's own connections), never ours.
    expect(rules).toContain(toGuest("tcp dport != { 9100, 32000-32767 } tcp flags & (syn | ack) != syn"));
    expect(ip!.ruleset).toContain("ip daddr { 127.0.0.1, 10.244.1.5 } tcp dport { 8080 } dnat to 10.0.2.2");
    expect(ip!.ruleset).not.toMatch(/prerouting|masquerade/);
  });

  it("sends the guest's egress to the pod's next hops as the pod IP, most specific first", () => {
    const netdev = stepsOf(planNetwork(declared, podFacts()), "nftables")[1]!;
    const from = `ether saddr ${declared.interfaces[0]!.mac} ip saddr 10.0.2.2 ip daddr != { 10.0.2.0/24, 10.244.1.5, 224.0.0.0/4, 255.255.255.255 }`;
    const lines = netdev.ruleset.split("\n").map((l) => l.trim());
    expect(lines.slice(lines.indexOf("chain from-guest {") + 2, -2)).toEqual([
      `${from} ip daddr 10.244.1.0/24 ip saddr set 10.244.1.5 fwd ip to ip daddr device "eth0"`,
      `${from} ip saddr set 10.244.1.5 fwd ip to 10.244.1.1 device "eth0"`,
      `${from} drop`,
      "}",
    ]);
  });

  it("forwards every port but the launcher's and a mesh sidecar's when none are declared", () => {
    const netdev = stepsOf(planNetwork(config({ binding: "masquerade" }), podFacts()), "nftables")[1]!;
    expect(netdev.ruleset).toMatch(
      /tcp dport != \{ 9100, 15000, 15001, .*15090, 32000-32767 \} ip daddr set 10\.0\.2\.2/,
    );
    expect(netdev.ruleset).not.toContain("tcp flags");
  });

  it("never forwards a port of ours: with VNC on, QEMU's 5900 is excluded and filtered from the guest", () => {
    const withVnc = config({ binding: "masquerade" });
    withVnc.devices.vnc = true;
    const nft = stepsOf(planNetwork(withVnc, podFacts()), "nftables")[0]!;
    // 127.0.0.1:5900 is the console: the output chain must not send it to the guest.
    expect(nft.ruleset).toMatch(/127\.0\.0\.1, 10\.244\.1\.5 \} tcp dport != \{ 5900, 9100, 15000/);
    expect(nft.ruleset).toContain('iifname "k6t-eth0" tcp dport { 5900, 9100 } drop');
    const declared5900 = config({ binding: "masquerade", ports: [{ port: 5900, protocol: "TCP" }] });
    declared5900.devices.vnc = true;
    expect(
      expectError(() => planNetwork(declared5900, podFacts()), "PORT_CLASH", "interfaces[0].ports[0]")
        .message,
    ).toMatch(/VNC/);
    const passt = config({ binding: "passt" });
    passt.devices.vnc = true;
    expect(planNetwork(passt, podFacts()).passt[0]).toMatchObject({ tcpPorts: "~5900,~9100" });
  });

  it("uses a configured subnet", () => {
    const plan = planNetwork(
      config({ binding: "masquerade", network: { kind: "pod", vmNetworkCIDR: "172.30.8.0/22" } }),
      podFacts(),
    );
    expect(plan.nics[0]!.guestIps).toEqual(["172.30.8.2"]);
    expect(stepsOf(plan, "addr")[0]!.cidr).toBe("172.30.8.1/22");
  });

  it("rejects subnets that are malformed, too small, not aligned or overlapping the pod", () => {
    const cidr = (vmNetworkCIDR: string) =>
      config({ binding: "masquerade", network: { kind: "pod", vmNetworkCIDR } });
    const where = "interfaces[0].network.vmNetworkCIDR";
    expectError(() => planNetwork(cidr("10.0.2.0"), podFacts()), "CIDR_INVALID", where);
    expectError(() => planNetwork(cidr("bogus/24"), podFacts()), "CIDR_INVALID", where);
    expectError(() => planNetwork(cidr("10.0.2.0/31"), podFacts()), "CIDR_INVALID", where);
    expect(
      expectError(() => planNetwork(cidr("10.0.2.5/24"), podFacts()), "CIDR_INVALID", where).message,
    ).toMatch(/10\.0\.2\.0\/24/);
    const e = expectError(() => planNetwork(cidr("10.244.0.0/16"), podFacts()), "CIDR_OVERLAP", where);
    expect(e.message).toMatch(/overlaps the pod's network 10\.244\.1\.0\/24/);
    const routed = podFacts({
      routes: [...podFacts().routes, { family: 4, dst: "10.0.0.0/8", gateway: "10.244.1.1", dev: "eth0" }],
    });
    expectError(() => planNetwork(cidr("10.0.2.0/24"), routed), "CIDR_OVERLAP", where);
  });

  it("rejects the launcher's port and duplicate ports, with the field", () => {
    const clash = config({
      binding: "masquerade",
      ports: [
        { port: 80, protocol: "TCP" },
        { port: 9100, protocol: "TCP" },
      ],
    });
    expect(
      expectError(() => planNetwork(clash, podFacts()), "PORT_CLASH", "interfaces[0].ports[1]").message,
    ).toMatch(/launcher's own/);
    const dup = config({
      binding: "masquerade",
      ports: [
        { port: 80, protocol: "TCP" },
        { port: 80, protocol: "TCP" },
      ],
    });
    expectError(() => planNetwork(dup, podFacts()), "PORT_CLASH", "interfaces[0].ports[1]");
    const both = config({
      binding: "masquerade",
      ports: [
        { port: 53, protocol: "TCP" },
        { port: 53, protocol: "UDP" },
      ],
    });
    expect(() => planNetwork(both, podFacts())).not.toThrow();
  });

  const dualStack = () => {
    const facts = podFacts();
    facts.interfaces[0]!.addresses.push({ family: 6, address: "fd00:10:244:1::5", prefixLength: 64 });
    facts.routes.push(
      { family: 6, dst: "fd00:10:244:1::/64", dev: "eth0" },
      { family: 6, dst: "default", gateway: "fe80::1", dev: "eth0" },
    );
    return facts;
  };

  it("NATs IPv6 too on a dual-stack pod: NAT66 to fd10:0:2::2 in its own tables, status lists both", () => {
    const p = planNetwork(
      config({ binding: "masquerade", ports: [{ port: 80, protocol: "TCP" }] }),
      dualStack(),
    );
    expect(p.nics[0]!.guestIps).toEqual(["10.0.2.2", "fd10:0:2::2"]);
    expect(stepsOf(p, "addr")).toContainEqual({
      op: "addr",
      dev: "k6t-eth0",
      cidr: "fd10:0:2::1/120",
      present: true,
    });
    expect(stepsOf(p, "neigh")).toContainEqual(expect.objectContaining({ address: "fd10:0:2::2" }));
    const tables = Object.fromEntries(stepsOf(p, "nftables").map((t) => [t.family, t.ruleset]));
    expect(Object.keys(tables).sort()).toEqual(["ip", "ip6", "netdev"]);
    expect(tables.ip6).toContain("ip6 daddr fd00:10:244:1::5 tcp dport { 80 } dnat to fd10:0:2::2");
    expect(tables.ip6).toContain("snat to [fd00:10:244:1::5]:32000-32767");
    const netdev = tables.netdev!.split("\n").map((l) => l.trim());
    // Inbound: the pod's IPv6 address on a declared port becomes the guest's, moved to the tap.
    expect(netdev).toContainEqual(
      expect.stringMatching(
        /^ip6 daddr fd00:10:244:1::5 tcp dport \{ 80 \} ip6 daddr set fd10:0:2::2 .* fwd to "tap0"$/,
      ),
    );
    // Outbound: on-link first, then the default route through its link-local gateway; no forwarding sysctl.
    const out = netdev.filter((l) => l.includes("ip6 saddr set"));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /ip6 daddr fd00:10:244:1::\/64 ip6 saddr set fd00:10:244:1::5 fwd ip6 to ip6 daddr device "eth0"$/,
    );
    expect(out[1]).toMatch(/ip6 saddr set fd00:10:244:1::5 fwd ip6 to fe80::1 device "eth0"$/);
    expect(stepsOf(p, "sysctl").map((s) => s.key)).not.toContainEqual(
      expect.stringMatching(/forwarding|ip_forward/),
    );
    expect(p.warnings.join("\n")).toMatch(/must configure fd10:0:2::2\/120 via fd10:0:2::1/);
    // IPv4's half is what a single-stack pod gets.
    const v4only = planNetwork(
      config({ binding: "masquerade", ports: [{ port: 80, protocol: "TCP" }] }),
      podFacts(),
    );
    expect(stepsOf(p, "nftables").find((t) => t.family === "ip")).toEqual(
      stepsOf(v4only, "nftables").find((t) => t.family === "ip"),
    );
  });

  it("serves an IPv6-only pod with no DHCPv4 lease", () => {
    const facts = dualStack();
    facts.interfaces[0]!.addresses = facts.interfaces[0]!.addresses.filter((a) => a.family === 6);
    facts.routes = facts.routes.filter((r) => r.family === 6);
    const p = planNetwork(config({ binding: "masquerade" }), facts);
    expect(p.dhcp).toBeUndefined();
    expect(p.nics[0]!.guestIps).toEqual(["fd10:0:2::2"]);
    expect(stepsOf(p, "nftables").map((t) => t.family)).toEqual(["ip6", "netdev"]);
    expect(stepsOf(p, "nftables")[1]!.ruleset).not.toMatch(/\bip daddr/);
  });

  it("refuses a pod network that overlaps the guest's IPv6 network, and a pod with no address", () => {
    const facts = dualStack();
    facts.routes.push({ family: 6, dst: "fd10::/16", gateway: "fe80::1", dev: "eth0" });
    expectError(
      () => planNetwork(config({ binding: "masquerade" }), facts),
      "CIDR_OVERLAP",
      "interfaces[0].binding",
    );
    const none = podFacts();
    none.interfaces[0]!.addresses = [];
    expectError(
      () => planNetwork(config({ binding: "masquerade" }), none),
      "FAMILY_UNSUPPORTED",
      "interfaces[0].binding",
    );
  });
});

describe("planNetwork: passt", () => {
  it("changes nothing in the pod and needs no privilege", () => {
    const plan = planNetwork(
      config({
        binding: "passt",
        ports: [
          { port: 8080, protocol: "TCP" },
          { port: 8443, protocol: "TCP" },
        ],
      }),
      podFacts(),
    );
    expect(plan.steps).toEqual([]);
    expect(plan.dhcp).toBeUndefined();
    expect(planNeedsPrivilege(plan)).toBe(false);
    expect(plan.passt).toEqual([
      {
        nic: "default",
        socketPath: "/var/run/vireo/passt-0.sock",
        podInterface: "eth0",
        tcpPorts: "8080,8443",
        udpPorts: "none",
        dns: ["10.96.0.10", "fd00::10"],
        search: ["ns1.svc.cluster.local", "svc.cluster.local"],
      },
    ]);
    expect(plan.nics[0]!.backend).toEqual({ kind: "passt", socketPath: "/var/run/vireo/passt-0.sock" });
  });

  it("forwards all ports but the launcher's when none are declared, and serves IPv6-only pods", () => {
    const facts = podFacts();
    facts.interfaces[0]!.addresses = [{ family: 6, address: "fd00::5", prefixLength: 64 }];
    const plan = planNetwork(config({ binding: "passt" }), facts);
    expect(plan.passt[0]).toMatchObject({ tcpPorts: "~9100", udpPorts: "~9100" });
    expect(plan.nics[0]!.guestIps).toEqual(["fd00::5"]);
    expect(plan.warnings).toEqual([expect.stringMatching(/file descriptor per port and protocol/)]);
  });

  it("warns that low ports need the pod sysctl, and rejects the launcher's port", () => {
    expect(
      planNetwork(
        config({ binding: "passt", ports: [{ port: 80, protocol: "TCP" }] }),
        podFacts(),
      ).warnings.join(),
    ).toMatch(/ip_unprivileged_port_start<=80/);
    expectError(
      () => planNetwork(config({ binding: "passt", ports: [{ port: 9100, protocol: "UDP" }] }), podFacts()),
      "PORT_CLASH",
    );
  });
});

describe("planNetwork: pod interface and Multus networks", () => {
  it("requires eth0 for every pod-network binding", () => {
    const facts = podFacts();
    facts.interfaces[0]!.name = "veth0";
    for (const binding of ["bridge", "masquerade", "passt"] as const) {
      const e = expectError(
        () => planNetwork(config({ binding }), facts),
        "NO_POD_INTERFACE",
        "interfaces[0].network",
      );
      expect(e.message).toMatch(/no eth0 \(interfaces: veth0\)/);
    }
  });

  const multusNic = (networkName: string): LauncherInterface => ({
    name: "data",
    binding: "bridge",
    mac: "02:00:00:00:00:aa",
    model: "virtio",
    ports: [],
    network: { kind: "multus", networkName },
  });
  const withNet1 = (addresses: PodFacts["interfaces"][number]["addresses"]): PodFacts =>
    podFacts({
      interfaces: [
        ...podFacts().interfaces,
        { name: "net1", mac: "0a:58:c0:a8:32:07", mtu: 9000, addresses },
      ],
      routes: [
        ...podFacts().routes,
        { family: 4, dst: "192.168.50.0/24", dev: "net1" },
        { family: 4, dst: "10.50.0.0/16", gateway: "192.168.50.1", dev: "net1" },
      ],
      networkStatus: [
        { name: "kindnet", interface: "eth0", default: true },
        {
          name: "default/net-a",
          interface: "net1",
          ips: ["192.168.50.7"],
          dns: { nameservers: ["192.168.50.1"], search: ["lab.example"] },
        },
      ],
    });

  it("bridges the attached interface and leases its address", () => {
    const plan = planNetwork(
      config({ binding: "masquerade" }, [multusNic("net-a")]),
      withNet1([{ family: 4, address: "192.168.50.7", prefixLength: 24 }]),
    );
    expect(plan.nics[1]).toMatchObject({
      name: "data",
      mac: "0a:58:c0:a8:32:07",
      mtu: 9000,
      backend: { kind: "tap", ifname: "tap1", bridge: "k6t-net1" },
      guestIps: ["192.168.50.7"],
    });
    expect(plan.dhcp?.leases[1]).toEqual({
      interface: "k6t-net1",
      serverAddress: "169.254.75.11",
      mac: "0a:58:c0:a8:32:07",
      ip: "192.168.50.7",
      prefixLength: 24,
      routes: [{ dst: "10.50.0.0/16", via: "192.168.50.1" }],
      dns: ["192.168.50.1"],
      search: ["lab.example"],
      mtu: 9000,
    });
  });

  it("bridges an interface without an address as plain L2, without DHCP", () => {
    const plan = planNetwork(config({ binding: "passt" }, [multusNic("default/net-a")]), withNet1([]));
    expect(plan.dhcp).toBeUndefined();
    expect(stepsOf(plan, "bridge").map((s) => s.name)).toEqual(["k6t-net1"]);
    expect(stepsOf(plan, "route")).toEqual([]);
    expect(plan.nics[1]!.guestIps).toEqual([]);
  });

  it("names the missing network or annotation", () => {
    const facts = withNet1([]);
    expectError(
      () => planNetwork(config({ binding: "passt" }, [multusNic("other/net-a")]), facts),
      "MULTUS_NETWORK_NOT_FOUND",
      "interfaces[1].network.networkName",
    );
    const { networkStatus: _, ...noStatus } = facts;
    const e = expectError(
      () => planNetwork(config({ binding: "passt" }, [multusNic("net-a")]), noStatus),
      "MULTUS_NETWORK_NOT_FOUND",
    );
    expect(e.message).toMatch(/no k8s\.v1\.cni\.cncf\.io\/network-status annotation/);
    const gone = { ...facts, interfaces: facts.interfaces.slice(0, 1) };
    expectError(
      () => planNetwork(config({ binding: "passt" }, [multusNic("net-a")]), gone),
      "NO_POD_INTERFACE",
    );
  });

  it("refuses a non-bridge binding on a Multus network and two pod-network interfaces", () => {
    expectError(
      () =>
        planNetwork(
          config({ binding: "passt" }, [{ ...multusNic("net-a"), binding: "masquerade" }]),
          withNet1([]),
        ),
      "BINDING_UNSUPPORTED",
      "interfaces[1].binding",
    );
    const second: LauncherInterface = {
      ...multusNic("x"),
      name: "second",
      network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
    };
    expectError(
      () => planNetwork(config({ binding: "passt" }, [second]), podFacts()),
      "BINDING_UNSUPPORTED",
      "interfaces[1].network",
    );
  });

  it("keeps bridge names within 15 characters", () => {
    expect(bridgeName("eth0")).toBe("k6t-eth0");
    expect(bridgeName("net1")).toBe("k6t-net1");
    const long = bridgeName("verylongname12");
    expect(long).toMatch(/^k6t-[0-9a-f]{10}$/);
    expect(long).toBe(bridgeName("verylongname12"));
  });
});
