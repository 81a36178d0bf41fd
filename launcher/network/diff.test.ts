import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { diffSteps } from "./diff.ts";
import { NetworkError } from "./errors.ts";
import { podFactsSchema } from "./facts.ts";
import { parseIpBatch, parseNftDigest, type LiveState } from "./live-state.ts";
import { planNetwork } from "./plan.ts";
import { testLauncherConfig } from "./testing/config.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const gidOf = (g: string) => (g === "sgx" ? 107 : undefined);
const state = (name: string, extra: Partial<LiveState> = {}): LiveState => ({
  ...parseIpBatch(fixture(name), gidOf),
  sysctls: {},
  nftDigests: {},
  ...extra,
});
const plan = (binding: "bridge" | "masquerade") =>
  planNetwork(
    testLauncherConfig("/run/vireo", { binding }),
    podFactsSchema.parse(JSON.parse(fixture(`pod-${binding}-facts.json`))),
  );

describe("diffSteps", () => {
  it("turns a fresh pod into the bridge binding with one command per missing piece", () => {
    const p = plan("bridge");
    const bridgeMac = p.steps.find((s) => s.op === "bridge")!.mac;
    const eth0 = p.steps.find((s) => s.op === "link" && s.dev === "eth0");
    const guestMac = p.nics[0]!.mac;
    const cmds = diffSteps(
      p.steps,
      state("pod-fresh.ip.jsonl", { sysctls: { "net.ipv4.ip_unprivileged_port_start": 1024 } }),
    );
    expect(cmds).toEqual([
      {
        kind: "sysctl",
        key: "net.ipv4.ip_unprivileged_port_start",
        value: 67,
        optional: false,
        purpose: expect.stringMatching(/DHCP/),
      },
      { kind: "ip", line: `link add name k6t-eth0 address ${bridgeMac} type bridge` },
      { kind: "ip", line: "tuntap add dev tap0 mode tap user 107 group 107" },
      { kind: "ip", line: "link set dev tap0 mtu 1400" },
      { kind: "ip", line: "link set dev tap0 master k6t-eth0" },
      { kind: "ip", line: "link set dev tap0 up" },
      { kind: "ip", line: "addr del 198.18.1.10/24 dev eth0" },
      { kind: "ip", line: `link set dev eth0 address ${eth0?.op === "link" ? eth0.mac : ""}` },
      { kind: "ip", line: "link set dev eth0 master k6t-eth0" },
      { kind: "ip", line: "link set dev eth0 type bridge_slave learning off" },
      { kind: "ip", line: "link set dev k6t-eth0 mtu 1400" },
      { kind: "ip", line: "link set dev k6t-eth0 up" },
      { kind: "ip", line: "addr add 169.254.75.10/32 dev k6t-eth0" },
      { kind: "ip", line: "route replace 198.18.1.10/32 dev k6t-eth0" },
      { kind: "ip", line: `neigh replace 198.18.1.10 lladdr ${guestMac} dev k6t-eth0 nud permanent` },
      {
        kind: "nft",
        script: expect.stringMatching(
          /^table bridge vireo\ndelete table bridge vireo\ntable bridge vireo \{/,
        ),
      },
    ]);
  });

  it("finds nothing to do in a namespace where the bridge plan was applied", () => {
    const live = state("pod-bridge-applied.ip.jsonl", {
      sysctls: { "net.ipv4.ip_unprivileged_port_start": 67 },
      nftDigests: { "bridge vireo": parseNftDigest(fixture("pod-bridge-applied.nft.txt")) },
    });
    expect(diffSteps(plan("bridge").steps, live)).toEqual([]);
  });

  it("finds nothing to do where the masquerade plan was applied, nftables included", () => {
    const live = state("pod-masquerade-applied.ip.jsonl", {
      sysctls: {
        "net.ipv4.ip_unprivileged_port_start": 0,
        "net.ipv4.conf.k6t-eth0.route_localnet": 1,
      },
      nftDigests: {
        "ip vireo": parseNftDigest(fixture("pod-masquerade-applied.nft.txt")),
        "netdev vireo": parseNftDigest(fixture("pod-masquerade-applied.netdev.nft.txt")),
      },
    });
    expect(diffSteps(plan("masquerade").steps, live)).toEqual([]);
  });

  it("replaces the nftables table atomically when its digest differs", () => {
    const live = state("pod-masquerade-applied.ip.jsonl", {
      sysctls: {
        "net.ipv4.ip_unprivileged_port_start": 67,
        "net.ipv4.conf.k6t-eth0.route_localnet": 1,
      },
      nftDigests: {
        "ip vireo": "0000000000000000",
        "netdev vireo": parseNftDigest(fixture("pod-masquerade-applied.netdev.nft.txt")),
      },
    });
    const cmds = diffSteps(plan("masquerade").steps, live);
    expect(cmds).toHaveLength(1);
    const nft = cmds[0]!;
    expect(nft.kind === "nft" && nft.script.split("\n").slice(0, 3)).toEqual([
      "table ip vireo",
      "delete table ip vireo",
      "table ip vireo {",
    ]);
  });

  it("re-creates a tap with the wrong owner and refuses a bridge name taken by another kind of link", () => {
    const live = state("pod-bridge-applied.ip.jsonl", {
      sysctls: { "net.ipv4.ip_unprivileged_port_start": 67 },
    });
    const tap = live.links.find((l) => l.name === "tap0")!;
    tap.tapOwner = { uid: 0, gid: 0 };
    const cmds = diffSteps(plan("bridge").steps, live);
    expect(cmds.slice(0, 2)).toEqual([
      { kind: "ip", line: "link del dev tap0" },
      { kind: "ip", line: "tuntap add dev tap0 mode tap user 107 group 107" },
    ]);
    // The new tap is not on the bridge yet, nor up.
    expect(cmds.map((c) => (c.kind === "ip" ? c.line : ""))).toContain("link set dev tap0 master k6t-eth0");

    const taken = state("pod-fresh.ip.jsonl");
    taken.links.push({ name: "k6t-eth0", mac: "02:00:00:00:00:01", mtu: 1500, up: true, kind: "veth" });
    expect(() => diffSteps(plan("bridge").steps, taken)).toThrow(NetworkError);
  });

  it("lowers a sysctl in atMost mode only when it is higher", () => {
    const step = { op: "sysctl" as const, key: "k", value: 67, mode: "atMost" as const, purpose: "test" };
    const at = (v: number | undefined) =>
      diffSteps([step], { ...state("pod-fresh.ip.jsonl"), sysctls: { k: v } });
    expect(at(1024)).toHaveLength(1);
    expect(at(67)).toEqual([]);
    expect(at(0)).toEqual([]);
    expect(at(undefined)).toHaveLength(1);
  });
});
