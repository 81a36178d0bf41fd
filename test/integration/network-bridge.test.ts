/**
 * Bridge binding with a real TCG guest in real network namespaces: the pod's IP and MAC move to the
 * guest, which gets them by DHCP from the unprivileged launcher side.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { readNetworkState } from "../../launcher/network/index.ts";
import {
  bootGuest,
  createTopology,
  type LauncherSide,
  type NetGuest,
  type NetsetupResult,
  processPrivileges,
  runNetsetupSide,
  snapshot,
  startLauncherSide,
  startWhoami,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { encode, encodeMessage, MessageType, Option } from "../../launcher/network/dhcp/packet.ts";
import type { GuestReport } from "../guest/report.ts";

/**
 * Sends `count` Ethernet frames out of `ifname` in namespace `ns`: a broadcast DHCP request from 0.0.0.0:68,
 * exactly what the guest's DHCP client sends, but from the pod network's side (a raw AF_PACKET socket).
 */
const RAW_DHCP_SENDER = `
import socket, struct, sys
ifname, payload, count = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\\xff" * 4)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
frame = b"\\xff" * 6 + s.getsockname()[4] + b"\\x08\\x00" + ip + udp
for _ in range(count): s.send(frame)
`;

describe("bridge binding", () => {
  let topo: Topology;
  let config: LauncherConfig;
  let podMac: string;
  let setup: NetsetupResult;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;
  let report: GuestReport;

  beforeAll(async () => {
    topo = await createTopology({ mtu: 1400 });
    podMac = JSON.parse(await topo.exec(topo.pod, ["ip", "-json", "link", "show", "eth0"]))[0].address;
    // 8080 is declared, so it is spliced from the pod's 127.0.0.1 (port-forward) to the guest.
    config = testLauncherConfig(topo.runDir, { binding: "bridge", ports: [{ port: 8080, protocol: "TCP" }] });
    // The netsetup step: root inside the pod namespace, as the init container runs it.
    setup = await runNetsetupSide(topo, config);
    expect(setup).toMatchObject({ ok: true, factsSource: "live" });
    side = await startLauncherSide(topo, config);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
    report = await guest.serial.waitForReady(180_000);
    console.log(
      `[figures] bridge: plan ${setup.planMs!.toFixed(1)} ms, apply ${setup.applyMs!.toFixed(1)} ms ` +
        `(${setup.commands} commands); guest DHCP ${report.addresses[0]?.dhcpMs} ms, ` +
        `lease at ${report.addresses[0]?.uptimeMs} ms after boot`,
    );
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
  });

  it("runs the launcher side as uid 107 with no capabilities", async () => {
    for (const s of side!.services) {
      const p = await processPrivileges(s.pid);
      expect(p).toEqual({ uid: 107, capEff: 0n, capPrm: 0n });
    }
    expect(await processPrivileges(guest!.qemu.pid)).toEqual({ uid: 107, capEff: 0n, capPrm: 0n });
  });

  it("gives the guest the pod's MAC and, by DHCP, the pod's IP, gateway, DNS and search list", () => {
    expect(report.nics).toEqual([
      expect.objectContaining({ name: "eth0", mac: podMac, driver: "virtio_net" }),
    ]);
    expect(report.addresses).toHaveLength(1);
    expect(report.addresses[0]).toMatchObject({
      iface: "eth0",
      ip: TOPOLOGY.podIp,
      prefix: 24,
      routers: [TOPOLOGY.gwIp],
      dns: [TOPOLOGY.nameserver],
      search: [...TOPOLOGY.search],
      server: "169.254.75.10",
    });
  });

  it("turns a pod MTU of 1400 into the guest's MTU", () => {
    expect(report.nics[0]!.mtu).toBe(1400);
    expect(report.addresses[0]!.mtu).toBe(1400);
  });

  it("lets a peer namespace reach a web server in the guest at the pod IP", async () => {
    expect(report.http).toEqual({ port: 8080 });
    const body = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`]);
    expect(body).toMatch(/^vireo-guest hostname=/);
  });

  it("splices a declared port from 127.0.0.1 inside the pod to the guest (port-forward), and no other", async () => {
    const body = await topo.exec(topo.pod, ["curl", "-sS", "-m", "20", "http://127.0.0.1:8080/"]);
    expect(body).toMatch(/^vireo-guest hostname=/);
    // Port 8081 is not declared: nothing of ours listens there, so loopback refuses it.
    const refused = await topo.exec(topo.pod, ["curl", "-sS", "-m", "5", "http://127.0.0.1:8081/"]).then(
      () => "answered",
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/Connection refused|Couldn't connect/);
    // The launcher's side listens there (loopback only: the guest cannot reach 127.0.0.1).
    const ss = await topo.exec(topo.pod, ["ss", "-Htlnp", "sport = :8080"]);
    expect(ss).toMatch(/127\.0\.0\.1:8080/);
  });

  it("lets the guest reach a service namespace through the pod's gateway, as the pod IP", async () => {
    await startWhoami(topo);
    await guest!.serial.waitForShell(60_000);
    const r = await guest!.serial.run(`wget -q -O - http://${TOPOLOGY.svcIp}:8080/cgi-bin/whoami`, 60_000);
    expect(r).toEqual({ exitCode: 0, output: `client=${TOPOLOGY.podIp}\n` });
  });

  it("re-creates nothing when the setup runs again in the same pod (launcher restart)", async () => {
    const before = await snapshot(topo);
    const plan = (await readNetworkState(topo.runDir))!.plan;
    const again = await runNetsetupSide(topo, config);
    expect(again).toMatchObject({ ok: true, factsSource: "stored", commands: 0 });
    expect((await readNetworkState(topo.runDir))!.plan).toEqual(plan);
    expect(await snapshot(topo)).toEqual(before);
    // And the guest still answers at the pod IP.
    expect(await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`])).toMatch(
      /^vireo-guest/,
    );
  });
  it("answers no DHCP request from the pod network, even one that names the guest's MAC", async () => {
    // A neighbour on the pod network forges the guest's DISCOVER (chaddr = the guest's MAC, from 0.0.0.0:68).
    const discover = encodeMessage({
      op: 1,
      xid: 99,
      secs: 0,
      flags: 0,
      ciaddr: "0.0.0.0",
      yiaddr: "0.0.0.0",
      siaddr: "0.0.0.0",
      giaddr: "0.0.0.0",
      chaddr: podMac,
      options: new Map([[Option.MESSAGE_TYPE, encode.u8(MessageType.DISCOVER)]]),
    });
    await topo.exec(topo.gw, ["python3", "-c", RAW_DHCP_SENDER, "p0", discover.toString("hex"), "10"]);
    await new Promise((r) => setTimeout(r, 500));
    const { dhcp, splices } = await side!.stop();
    side = undefined;
    expect(splices?.["8080"]).toMatchObject({ accepted: 1, refused: 0, failed: 0, open: 0 });
    // The guest's own exchange only; without the bridge filter each forged request got an OFFER too.
    expect(dhcp!.OFFER).toBeGreaterThanOrEqual(1);
    expect(dhcp!.OFFER).toBeLessThanOrEqual(2);
  });
});
