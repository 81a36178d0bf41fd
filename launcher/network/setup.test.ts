import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetworkError } from "./errors.ts";
import type { NetHost } from "./host.ts";
import { parseIpBatch, parseNftDigest, type IpState } from "./live-state.ts";
import { chooseFacts, setupPodNetwork } from "./setup.ts";
import { startNetwork } from "./start.ts";
import { networkStatePath, readNetworkState } from "./state-file.ts";
import { testLauncherConfig } from "./testing/config.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const gidOf = (g: string) => (g === "sgx" ? 107 : undefined);

/** A namespace frozen in one state that records what it is asked to run. */
function fakeHost(
  ip: IpState,
  sysctls: Record<string, number> = {},
  nftDigests: Record<string, string> = {},
): NetHost & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    readIp: async () => ip,
    readSysctls: async (keys) => Object.fromEntries(keys.map((k) => [k, sysctls[k]])),
    readNftDigests: async (tables) => Object.fromEntries(tables.map((t) => [t, nftDigests[t]])),
    ipBatch: async (lines) => void ran.push(...lines.map((l) => `ip ${l}`)),
    writeSysctls: async (values) => void ran.push(...values.map((v) => `sysctl ${v.key}=${v.value}`)),
    nft: async () => void ran.push("nft"),
  };
}

let dir: string;
let resolvConfPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vireo-net-unit-"));
  resolvConfPath = join(dir, "resolv.conf");
  await writeFile(resolvConfPath, "nameserver 198.18.2.53\nsearch ns1.svc.cluster.local svc.cluster.local\n");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const deps = (host: NetHost) => ({ host, resolvConfPath, networkStatusPath: join(dir, "absent") });

describe("setupPodNetwork", () => {
  it("plans from the live pod, records the facts first and the plan as applied", async () => {
    const config = testLauncherConfig(dir, { binding: "bridge" });
    const host = fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf));
    const r = await setupPodNetwork(config, deps(host));
    expect(r.factsSource).toBe("live");
    expect(r.facts.interfaces[0]).toMatchObject({
      name: "eth0",
      addresses: [{ address: "198.18.1.10", prefixLength: 24 }],
    });
    expect(r.facts.dns.nameservers).toEqual(["198.18.2.53"]);
    expect(host.ran).toContain("ip addr del 198.18.1.10/24 dev eth0");
    // The required sysctl goes first (a read-only /proc/sys fails before any link changes).
    expect(host.ran[0]).toBe("sysctl net.ipv4.ip_unprivileged_port_start=67");
    expect(host.ran[1]).toBe(
      "ip link add name k6t-eth0 address " +
        r.plan.steps.find((s) => s.op === "bridge")!.mac +
        " type bridge",
    );
    const state = await readNetworkState(dir);
    expect(state).toMatchObject({ version: 1, applied: true });
    expect(state!.facts).toEqual(r.facts);
  });

  it("plans from the recorded facts once the pod's address is gone, and then changes nothing", async () => {
    const config = testLauncherConfig(dir, { binding: "bridge" });
    await setupPodNetwork(config, deps(fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf))));
    const first = await readFile(networkStatePath(dir), "utf8");
    const applied = fakeHost(
      parseIpBatch(fixture("pod-bridge-applied.ip.jsonl"), gidOf),
      { "net.ipv4.ip_unprivileged_port_start": 67 },
      { "bridge vireo": parseNftDigest(fixture("pod-bridge-applied.nft.txt"))! },
    );
    const again = await setupPodNetwork(config, deps(applied));
    expect(again.factsSource).toBe("stored");
    expect(again.commands).toEqual([]);
    expect(applied.ran).toEqual([]);
    expect(await readFile(networkStatePath(dir), "utf8")).toBe(first);
  });

  it("fails before touching anything or writing a record when the input is bad", async () => {
    const host = fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf));
    const config = testLauncherConfig(dir, {
      binding: "masquerade",
      ports: [{ port: 9100, protocol: "TCP" }],
    });
    await expect(setupPodNetwork(config, deps(host))).rejects.toMatchObject({ code: "PORT_CLASH" });
    expect(host.ran).toEqual([]);
    expect(await readNetworkState(dir)).toBeUndefined();
  });
});

describe("chooseFacts", () => {
  const fresh = parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf);
  const applied = parseIpBatch(fixture("pod-bridge-applied.ip.jsonl"), gidOf);
  const liveFacts = JSON.parse(fixture("pod-bridge-facts.json"));

  it("takes the live facts in a fresh namespace even with a stale record (new pod sandbox)", async () => {
    const config = testLauncherConfig(dir, { binding: "bridge" });
    await setupPodNetwork(config, deps(fakeHost(fresh)));
    const stored = await readNetworkState(dir);
    expect(chooseFacts(stored, liveFacts, fresh).source).toBe("live");
    expect(chooseFacts(stored, liveFacts, applied).source).toBe("stored");
  });

  it("refuses a namespace changed by a setup it has no record of", () => {
    expect(() => chooseFacts(undefined, liveFacts, applied)).toThrow(NetworkError);
    expect(() => chooseFacts(undefined, liveFacts, applied)).toThrow(/no record of the setup/);
  });
});

describe("startNetwork without a setup record", () => {
  it("refuses plans that need the privileged setup", async () => {
    const host = fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf));
    await expect(
      startNetwork(testLauncherConfig(dir, { binding: "masquerade" }), deps(host)),
    ).rejects.toMatchObject({ code: "NOT_SET_UP" });
    await expect(startNetwork(testLauncherConfig(dir, { binding: "bridge" }))).rejects.toMatchObject({
      code: "NOT_SET_UP",
    });
  });

  it("refuses a setup that did not finish", async () => {
    const config = testLauncherConfig(dir, { binding: "bridge" });
    await setupPodNetwork(config, deps(fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf))));
    const state = JSON.parse(await readFile(networkStatePath(dir), "utf8"));
    await writeFile(networkStatePath(dir), JSON.stringify({ ...state, applied: false }));
    await expect(startNetwork(config)).rejects.toMatchObject({
      code: "NOT_SET_UP",
      message: /did not finish/,
    });
  });
});

describe("applying where /proc/sys is read-only (a container without a pod sysctl)", () => {
  const readOnly = (host: NetHost & { ran: string[] }): NetHost & { ran: string[] } => ({
    ...host,
    writeSysctls: async () => {
      throw new Error("EROFS: read-only file system");
    },
  });

  it("fails on a required sysctl before any link changes, naming the fix", async () => {
    const host = readOnly(fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf)));
    const config = testLauncherConfig(dir, { binding: "masquerade" });
    const err = await setupPodNetwork(config, deps(host)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "APPLY_FAILED" });
    expect((err as Error).message).toMatch(
      /net\.ipv4\.ip_unprivileged_port_start must be 67 for .*cannot set it.*pod sysctl/,
    );
    expect(host.ran).toEqual([]);
  });

  it("goes on without an optional one and says what is missing", async () => {
    // The pod spec set the required one already (masquerade needs no ip_forward); only the bridge's
    // route_localnet is left to write.
    const host = readOnly(
      fakeHost(parseIpBatch(fixture("pod-fresh.ip.jsonl"), gidOf), {
        "net.ipv4.ip_unprivileged_port_start": 0,
      }),
    );
    const r = await setupPodNetwork(testLauncherConfig(dir, { binding: "masquerade" }), deps(host));
    expect(r.warnings).toEqual([expect.stringMatching(/route_localnet=1 could not be set .*port-forward/)]);
    expect(host.ran.at(-1)).toBe("nft");
    expect((await readNetworkState(dir))?.applied).toBe(true);
  });
});
