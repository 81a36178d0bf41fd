import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { factsFromState, parseIpBatch, parseNftDigest } from "./live-state.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
// The machine the fixtures were captured on names gid 107 "sgx"; ip prints known groups by name.
const gidOf = (g: string) => (g === "sgx" ? 107 : undefined);

describe("parseIpBatch (output captured from real namespaces)", () => {
  it("reads a fresh pod: eth0 with its address and routes", () => {
    const s = parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf);
    expect(s.links.map((l) => [l.name, l.kind ?? "", l.up])).toEqual([
      ["lo", "", true],
      ["eth0", "veth", true],
    ]);
    expect(s.addrs.filter((a) => a.dev === "eth0" && a.family === 4)).toEqual([
      { dev: "eth0", family: 4, address: "198.18.1.10", prefixLength: 24, scope: "global" },
    ]);
    expect(s.routes).toEqual([
      { family: 4, dst: "default", dev: "eth0", gateway: "198.18.1.1", scope: "global" },
      { family: 4, dst: "198.18.1.0/24", dev: "eth0", scope: "link" },
      { family: 6, dst: "fe80::/64", dev: "eth0" },
    ]);
  });

  it("reads an applied bridge binding: bridge, tap owner, learning, /32 route, permanent neighbour", () => {
    const s = parseIpBatch(fixture("pod-bridge-applied.ip.jsonl"), gidOf);
    const link = (n: string) => s.links.find((l) => l.name === n)!;
    expect(link("k6t-eth0")).toMatchObject({ kind: "bridge", up: true, mtu: 1400 });
    expect(link("tap0")).toMatchObject({
      kind: "tun",
      master: "k6t-eth0",
      tapOwner: { uid: 107, gid: 107 },
      learning: true,
    });
    expect(link("eth0")).toMatchObject({ kind: "veth", master: "k6t-eth0", learning: false });
    expect(s.addrs.filter((a) => a.dev === "eth0" && a.family === 4)).toEqual([]);
    expect(s.routes.filter((r) => r.family === 4)).toEqual([
      { family: 4, dst: "198.18.1.10/32", dev: "k6t-eth0", scope: "link" },
    ]);
    // The guest has eth0's original MAC (recorded in the facts of the same run); eth0 now has another.
    const original = (JSON.parse(fixture("pod-bridge-facts.json")) as { interfaces: { mac: string }[] })
      .interfaces[0]!.mac;
    expect(s.neighbors).toEqual([
      { dev: "k6t-eth0", address: "198.18.1.10", mac: original, permanent: true },
    ]);
    expect(link("eth0").mac).not.toBe(original);
  });

  it("rejects output that is not one JSON document per command", () => {
    expect(() => parseIpBatch("[]\n[]\n")).toThrow(/expected 5/);
    expect(() => parseIpBatch("[]\n[]\n[\n[]\n[]\n")).toThrow(/malformed JSON/);
  });
});

describe("factsFromState", () => {
  it("keeps global addresses of every link but loopback", () => {
    const facts = factsFromState(parseIpBatch(fixture("pod-fresh.ip.jsonl")));
    expect(facts.interfaces).toHaveLength(1);
    expect(facts.interfaces[0]).toMatchObject({
      name: "eth0",
      mtu: 1400,
      addresses: [{ family: 4, address: "198.18.1.10", prefixLength: 24 }],
    });
    expect(facts.routes[0]).toEqual({
      family: 4,
      dst: "default",
      gateway: "198.18.1.1",
      dev: "eth0",
      scope: "global",
    });
  });
});

describe("parseNftDigest", () => {
  it("reads the digest from the table comment", () => {
    expect(parseNftDigest(fixture("pod-masquerade-applied.nft.txt"))).toMatch(/^[0-9a-f]{16}$/);
    expect(parseNftDigest("table ip vireo {\n}\n")).toBeUndefined();
  });
});
