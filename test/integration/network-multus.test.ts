/**
 * A secondary (Multus) network beside the pod network: the interface named in the network-status
 * annotation is bridged to a second guest NIC, which gets that interface's MAC and address by DHCP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import {
  addSecondaryNetwork,
  bootGuest,
  createTopology,
  type LauncherSide,
  type NetGuest,
  runNetsetupSide,
  type SecondaryNetwork,
  startLauncherSide,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import type { GuestReport } from "../guest/report.ts";

describe("Multus secondary network (bridge binding)", () => {
  let topo: Topology;
  let net: SecondaryNetwork;
  let net1Mac: string;
  let config: LauncherConfig;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;
  let report: GuestReport;

  beforeAll(async () => {
    topo = await createTopology();
    net = await addSecondaryNetwork(topo, "net-a", true);
    net1Mac = JSON.parse(await topo.exec(topo.pod, ["ip", "-json", "link", "show", "net1"]))[0].address;
    config = testLauncherConfig(
      topo.runDir,
      { binding: "masquerade", ports: [{ port: 8080, protocol: "TCP" }] },
      [
        {
          name: "data",
          binding: "bridge",
          mac: "02:00:00:00:00:aa",
          model: "virtio",
          ports: [],
          network: { kind: "multus", networkName: "net-a" },
        },
      ],
    );
    expect(await runNetsetupSide(topo, config, { networkStatusPath: net.networkStatusPath })).toMatchObject({
      ok: true,
    });
    side = await startLauncherSide(topo, config, 60_000, net.networkStatusPath);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
    report = await guest.serial.waitForReady(180_000);
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
  });

  it("attaches a second NIC with the secondary interface's MAC, bridged to it", async () => {
    expect(side!.nics.map((n) => [n.name, n.mac, n.backend])).toEqual([
      ["default", config.interfaces[0]!.mac, { kind: "tap", ifname: "tap0", vhost: false }],
      ["data", net1Mac, { kind: "tap", ifname: "tap1", vhost: false }],
    ]);
    const net1 = JSON.parse(
      await topo.exec(topo.pod, ["ip", "-json", "-details", "link", "show", "net1"]),
    )[0];
    expect(net1.master).toBe("k6t-net1");
    expect(report.nics.map((n) => n.mac)).toEqual([config.interfaces[0]!.mac, net1Mac]);
  });

  it("leases the secondary interface's address on the second NIC, without a default route", () => {
    const byIface = new Map(report.addresses.map((a) => [a.iface, a]));
    expect(byIface.get("eth0")).toMatchObject({ ip: "10.0.2.2", routers: ["10.0.2.1"] });
    expect(byIface.get("eth1")).toMatchObject({
      ip: net.podIp,
      prefix: 24,
      routers: [],
      server: "169.254.75.11",
    });
  });

  it("reaches the guest on both networks", async () => {
    const viaSecondary = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${net.podIp}:8080/`]);
    expect(viaSecondary).toMatch(/^vireo-guest/);
    const viaPod = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`]);
    expect(viaPod).toMatch(/^vireo-guest/);
  });
});
