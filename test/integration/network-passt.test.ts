/**
 * passt binding with a real TCG guest: no setup step at all, the launcher side (uid 107, no capabilities)
 * plans from what the pod shows and runs passt, which hands the guest the pod's address.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import {
  bootGuest,
  createTopology,
  type LauncherSide,
  type NetGuest,
  processPrivileges,
  snapshot,
  startLauncherSide,
  startWhoami,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import type { GuestReport } from "../guest/report.ts";

describe("passt binding", () => {
  let topo: Topology;
  let config: LauncherConfig;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;
  let report: GuestReport;
  let podBefore: unknown;

  beforeAll(async () => {
    topo = await createTopology();
    podBefore = await snapshot(topo);
    config = testLauncherConfig(topo.runDir, { binding: "passt", ports: [{ port: 8080, protocol: "TCP" }] });
    side = await startLauncherSide(topo, config);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
    report = await guest.serial.waitForReady(180_000);
    console.log(
      `[figures] passt: guest DHCP ${report.addresses[0]?.dhcpMs} ms, lease at ${report.addresses[0]?.uptimeMs} ms after boot`,
    );
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
  });

  it("needs no setup step: no network.json, the pod namespace unchanged", async () => {
    expect(existsSync(join(topo.runDir, "network.json"))).toBe(false);
    expect(await snapshot(topo)).toEqual(podBefore);
  });

  it("runs passt, the launcher side and QEMU as uid 107 with no capabilities", async () => {
    const passt = side!.services.find((s) => s.name.startsWith("passt"));
    expect(passt).toBeDefined();
    for (const pid of [passt!.pid, side!.process.pid, guest!.qemu.pid])
      expect(await processPrivileges(pid)).toEqual({ uid: 107, capEff: 0n, capPrm: 0n });
  });

  it("gives the guest the pod's address, gateway and DNS through passt", () => {
    expect(side!.nics[0]!.backend).toEqual({ kind: "passt", socketPath: join(topo.runDir, "passt-0.sock") });
    expect(report.addresses[0]).toMatchObject({
      iface: "eth0",
      ip: TOPOLOGY.podIp,
      prefix: 24,
      routers: [TOPOLOGY.gwIp],
      dns: [TOPOLOGY.nameserver],
      search: [...TOPOLOGY.search],
    });
  });

  it("forwards the declared port from the pod IP to the guest", async () => {
    const body = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`]);
    expect(body).toMatch(/^vireo-guest hostname=/);
  });

  it("makes the guest's egress appear from the pod IP", async () => {
    await startWhoami(topo);
    await guest!.serial.waitForShell(60_000);
    const r = await guest!.serial.run(`wget -q -O - http://${TOPOLOGY.svcIp}:8080/cgi-bin/whoami`, 60_000);
    expect(r).toEqual({ exitCode: 0, output: `client=${TOPOLOGY.podIp}\n` });
  });
});
