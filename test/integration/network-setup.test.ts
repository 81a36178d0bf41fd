/**
 * The network setup against real namespaces, without a guest: bad input fails with a clear error before
 * anything changes (and before QEMU would start), and re-running the setup only repairs what is missing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LauncherInterface } from "../../crds/launcher/config.ts";
import { commandHost, setupPodNetwork } from "../../launcher/network/index.ts";
import {
  createTopology,
  runNetsetupSide,
  sh,
  snapshot,
  startLauncherSide,
  testLauncherConfig,
  type Topology,
  type TopologyOptions,
} from "../../launcher/network/testing/index.ts";

let topo: Topology | undefined;
afterEach(async () => {
  await topo?.destroy();
  topo = undefined;
});

async function topology(options: TopologyOptions = {}): Promise<Topology> {
  topo = await createTopology(options);
  return topo;
}

type Nic = Partial<LauncherInterface> & Pick<LauncherInterface, "binding">;

/** Runs the setup the binding needs (netsetup, or the launcher side for passt) and expects `code`. */
async function expectRefused(t: Topology, nic: Nic, code: string, field?: string): Promise<void> {
  const config = testLauncherConfig(t.runDir, nic);
  const before = await snapshot(t);
  if (nic.binding === "passt") {
    await expect(startLauncherSide(t, config)).rejects.toMatchObject({ code });
  } else {
    const r = await runNetsetupSide(t, config);
    expect(r).toMatchObject({ ok: false, code, ...(field ? { field } : {}) });
    expect(r.message).toBeTruthy();
  }
  expect(await snapshot(t)).toEqual(before);
  expect(existsSync(join(t.runDir, "network.json"))).toBe(false);
}

describe("bad input is refused before anything changes", () => {
  it("a pod without eth0, for every binding", async () => {
    const t = await topology({ noEth0: true });
    for (const binding of ["bridge", "masquerade", "passt"] as const)
      await expectRefused(t, { binding }, "NO_POD_INTERFACE", "interfaces[0].network");
  });

  it("a pod with no address, with the bridge or masquerade binding (IPv6-only ones: network-ipv6.test.ts)", async () => {
    const t = await topology({ ipv4: false });
    await expectRefused(t, { binding: "bridge" }, "FAMILY_UNSUPPORTED", "interfaces[0].binding");
    await expectRefused(t, { binding: "masquerade" }, "FAMILY_UNSUPPORTED", "interfaces[0].binding");
  });

  it("a port clash with the launcher's own port, or a port declared twice", async () => {
    const t = await topology();
    await expectRefused(
      t,
      { binding: "masquerade", ports: [{ port: 9100, protocol: "TCP" }] },
      "PORT_CLASH",
      "interfaces[0].ports[0]",
    );
    await expectRefused(
      t,
      {
        binding: "masquerade",
        ports: [
          { port: 80, protocol: "TCP" },
          { port: 80, protocol: "TCP" },
        ],
      },
      "PORT_CLASH",
      "interfaces[0].ports[1]",
    );
    await expectRefused(t, { binding: "passt", ports: [{ port: 9100, protocol: "TCP" }] }, "PORT_CLASH");
  });

  it("a guest subnet overlapping the pod's", async () => {
    const t = await topology();
    await expectRefused(
      t,
      { binding: "masquerade", network: { kind: "pod", vmNetworkCIDR: "198.18.0.0/16" } },
      "CIDR_OVERLAP",
    );
  });

  it("a launcher started without the setup its binding needs", async () => {
    const t = await topology();
    await expect(
      startLauncherSide(t, testLauncherConfig(t.runDir, { binding: "bridge" })),
    ).rejects.toMatchObject({ code: "NOT_SET_UP" });
  });
});

describe("re-running the setup", () => {
  it("changes nothing when everything is in place, and repairs only what went missing", async () => {
    const t = await topology();
    const config = testLauncherConfig(t.runDir, {
      binding: "masquerade",
      ports: [{ port: 8080, protocol: "TCP" }],
    });
    const deps = {
      host: commandHost({ prefix: ["ip", "netns", "exec", t.pod] }),
      resolvConfPath: t.resolvConf,
      networkStatusPath: "/nonexistent",
    };
    const first = await setupPodNetwork(config, deps);
    expect(first.commands.length).toBeGreaterThan(0);
    const applied = await snapshot(t);

    const second = await setupPodNetwork(config, deps);
    expect(second).toMatchObject({ factsSource: "stored", commands: [] });
    expect(await snapshot(t)).toEqual(applied);

    // Lose the tap and the ruleset (as a half-finished earlier run might have left things).
    await sh(["ip", "-n", t.pod, "link", "del", "tap0"]);
    await sh(["ip", "netns", "exec", t.pod, "nft", "delete", "table", "ip", "vireo"]);
    const repair = await setupPodNetwork(config, deps);
    expect(repair.commands.map((c) => (c.kind === "ip" ? c.line : c.kind))).toEqual([
      "tuntap add dev tap0 mode tap user 107 group 107",
      "link set dev tap0 master k6t-eth0",
      "link set dev tap0 up",
      "nft",
    ]);
    // The re-created tap has a new ifindex and a new (random) host-side MAC; everything else is as before.
    type Snap = { links: { name: string; ifindex: number; mac: string }[]; nft: unknown };
    const repaired = (await snapshot(t)) as Snap;
    const original = applied as Snap;
    const withoutTapIdentity = (s: Snap) => ({
      ...s,
      links: s.links.map((l) => (l.name === "tap0" ? { ...l, ifindex: 0, mac: "" } : l)),
      nft: undefined,
    });
    expect(withoutTapIdentity(repaired)).toEqual(withoutTapIdentity(original));
    expect(await sh(["ip", "netns", "exec", t.pod, "nft", "list", "table", "ip", "vireo"])).toMatch(
      /tcp dport 8080 dnat to 10\.0\.2\.2/,
    );
  });
});

describe("a container's read-only /proc/sys", () => {
  it("fails masquerade before any change when the pod spec did not lower ip_unprivileged_port_start", async () => {
    const t = await topology();
    const before = await snapshot(t);
    const r = await runNetsetupSide(t, testLauncherConfig(t.runDir, { binding: "masquerade" }), {
      readOnlyProcSys: true,
    });
    expect(r).toMatchObject({ ok: false, code: "APPLY_FAILED" });
    expect(r.message).toMatch(/must be 67 for .*cannot set it \(.*read-only file system.*pod sysctl/i);
    expect(await snapshot(t)).toEqual(before);
  });

  it("sets masquerade up with the safe pod sysctl alone and ip_forward=0, losing only the 127.0.0.1 hairpin", async () => {
    const t = await topology();
    // What the pod's securityContext.sysctls would have set before any container started: the one safe
    // sysctl a stock kubelet allows. Forwarding stays off, as on a stock kubelet.
    await t.exec(t.pod, ["sysctl", "-q", "-w", "net.ipv4.ip_unprivileged_port_start=0"]);
    expect(await t.exec(t.pod, ["sysctl", "-n", "net.ipv4.ip_forward"])).toBe("0\n");
    const r = await runNetsetupSide(t, testLauncherConfig(t.runDir, { binding: "masquerade" }), {
      readOnlyProcSys: true,
    });
    expect(r).toMatchObject({ ok: true });
    expect(r.applyWarnings).toEqual([
      expect.stringMatching(/route_localnet=1 could not be set .*port-forward/),
    ]);
    expect(await t.exec(t.pod, ["nft", "list", "table", "netdev", "vireo"])).toMatch(/fwd to "tap0"/);
    expect(await t.exec(t.pod, ["sysctl", "-n", "net.ipv4.ip_forward"])).toBe("0\n");
  });

  it("does not stop the bridge binding, whose only sysctl the pod spec sets", async () => {
    const t = await topology();
    await t.exec(t.pod, ["sysctl", "-q", "-w", "net.ipv4.ip_unprivileged_port_start=67"]);
    const r = await runNetsetupSide(t, testLauncherConfig(t.runDir, { binding: "bridge" }), {
      readOnlyProcSys: true,
    });
    expect(r).toMatchObject({ ok: true, applyWarnings: [] });
  });
});
