/**
 * Masquerade binding with a real TCG guest in real network namespaces: the guest on 10.0.2.0/24 behind
 * NAT, declared ports forwarded from the pod IP.
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
  sh,
  snapshot,
  startLauncherSide,
  startWhoami,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { encode, encodeMessage, MessageType, Option } from "../../launcher/network/dhcp/packet.ts";
import { startProcess } from "../../launcher/network/testing/process.ts";
import type { GuestReport } from "../guest/report.ts";

/** curl's exit code and body; 7 means the connection was refused. */
async function curl(topo: Topology, ns: string, url: string): Promise<{ code: number; body: string }> {
  try {
    return { code: 0, body: await topo.exec(ns, ["curl", "-sS", "-m", "20", url]) };
  } catch (err) {
    const code = ((err as Error).cause as { code?: number } | undefined)?.code;
    return { code: typeof code === "number" ? code : -1, body: "" };
  }
}

describe("masquerade binding", () => {
  let topo: Topology;
  let config: LauncherConfig;
  let setup: NetsetupResult;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;
  let report: GuestReport;

  beforeAll(async () => {
    topo = await createTopology();
    config = testLauncherConfig(topo.runDir, {
      binding: "masquerade",
      ports: [{ port: 8080, protocol: "TCP" }],
    });
    setup = await runNetsetupSide(topo, config);
    expect(setup).toMatchObject({ ok: true, factsSource: "live" });
    side = await startLauncherSide(topo, config);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
    report = await guest.serial.waitForReady(180_000);
    await guest.serial.waitForShell(60_000);
    // A second web server on a port that is not declared.
    const second = await guest.serial.run(
      "httpd -p 8081 -h /www && sleep 1 && netstat -ltn | grep -c ':808[01] '",
      60_000,
    );
    expect(second).toEqual({ exitCode: 0, output: "2\n" });
    console.log(
      `[figures] masquerade: plan ${setup.planMs!.toFixed(1)} ms, apply ${setup.applyMs!.toFixed(1)} ms ` +
        `(${setup.commands} commands); guest DHCP ${report.addresses[0]?.dhcpMs} ms, ` +
        `lease at ${report.addresses[0]?.uptimeMs} ms after boot`,
    );
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
  });

  it("leases the private guest address with the bridge as gateway, keeping the pod's IP on eth0", async () => {
    expect(report.nics[0]).toMatchObject({ mac: config.interfaces[0]!.mac, mtu: 1500 });
    expect(report.addresses[0]).toMatchObject({
      ip: "10.0.2.2",
      prefix: 24,
      routers: ["10.0.2.1"],
      dns: [TOPOLOGY.nameserver],
    });
    const eth0 = JSON.parse(await topo.exec(topo.pod, ["ip", "-json", "addr", "show", "eth0"]))[0];
    expect(eth0.addr_info.map((a: { local: string }) => a.local)).toContain(TOPOLOGY.podIp);
  });

  it("needs no IP forwarding: the pod's net.ipv4.ip_forward is 0 throughout", async () => {
    expect(await topo.exec(topo.pod, ["sysctl", "-n", "net.ipv4.ip_forward"])).toBe("0\n");
    expect(await topo.exec(topo.pod, ["sysctl", "-n", "net.ipv4.conf.all.forwarding"])).toBe("0\n");
  });

  it("forwards a declared port from the pod IP to the guest", async () => {
    const r = await curl(topo, topo.gw, `http://${TOPOLOGY.podIp}:8080/`);
    expect(r).toMatchObject({ code: 0, body: expect.stringMatching(/^vireo-guest hostname=/) });
  });

  it("does not forward a port that is not declared, though the guest listens on it", async () => {
    const inside = await guest!.serial.run("wget -q -O - http://127.0.0.1:8081/", 60_000);
    expect(inside.output).toMatch(/^vireo-guest/);
    const r = await curl(topo, topo.gw, `http://${TOPOLOGY.podIp}:8081/`);
    expect(r.code).toBe(7);
  });

  it("reaches the guest from inside the pod at the pod IP and at 127.0.0.1", async () => {
    for (const host of [TOPOLOGY.podIp, "127.0.0.1"]) {
      const r = await curl(topo, topo.pod, `http://${host}:8080/`);
      expect(r, host).toMatchObject({ code: 0, body: expect.stringMatching(/^vireo-guest/) });
    }
  });

  it("makes the guest's egress appear from the pod IP", async () => {
    await startWhoami(topo);
    const r = await guest!.serial.run(`wget -q -O - http://${TOPOLOGY.svcIp}:8080/cgi-bin/whoami`, 60_000);
    expect(r).toEqual({ exitCode: 0, output: `client=${TOPOLOGY.podIp}\n` });
  });

  it("runs the launcher side and QEMU as uid 107 without capabilities", async () => {
    for (const pid of [...side!.services.map((s) => s.pid), guest!.qemu.pid])
      expect(await processPrivileges(pid)).toEqual({ uid: 107, capEff: 0n, capPrm: 0n });
  });

  it("re-creates nothing, nftables included, when the setup runs again", async () => {
    const before = await snapshot(topo);
    const plan = (await readNetworkState(topo.runDir))!.plan;
    const again = await runNetsetupSide(topo, config);
    expect(again).toMatchObject({ ok: true, factsSource: "stored", commands: 0 });
    expect((await readNetworkState(topo.runDir))!.plan).toEqual(plan);
    expect(await snapshot(topo)).toEqual(before);
    const rules = await sh(["ip", "netns", "exec", topo.pod, "nft", "list", "table", "ip", "vireo"]);
    expect(rules.match(/dnat to 10\.0\.2\.2/g)).toHaveLength(1); // the pod's own connections to it
    const forward = await sh(["ip", "netns", "exec", topo.pod, "nft", "list", "table", "netdev", "vireo"]);
    expect(forward.match(/fwd to "tap0"/g)?.length).toBeGreaterThan(0);
  });

  it("lets the guest open none of the pod's own ports (the launcher's HTTP port stands in for all)", async () => {
    // Something of ours listening on every address of the pod, as the launcher's :9100 does.
    const www = (await sh(["mktemp", "-d", "-p", topo.dir])).trim();
    await sh(["sh", "-c", `echo pod-private > ${www}/index.html && chmod -R a+rX ${www}`]);
    topo.track(
      startProcess(["ip", "netns", "exec", topo.pod, "busybox", "httpd", "-f", "-p", "9100", "-h", www]),
    );
    await new Promise((r) => setTimeout(r, 300));
    // The pod itself reaches it; the guest, at its gateway, gets nothing (dropped, so wget hangs until killed).
    expect(await curl(topo, topo.pod, "http://10.0.2.1:9100/")).toMatchObject({
      code: 0,
      body: "pod-private\n",
    });
    const fromGuest = await guest!.serial.run(
      "timeout 5 wget -q -O - http://10.0.2.1:9100/ 2>&1; echo exit=$?",
      60_000,
    );
    expect(fromGuest.output).not.toMatch(/pod-private/);
    expect(fromGuest.output).not.toMatch(/exit=0/);
    // From the pod network the pod's port stays the pod's: the stateless path keeps every segment of it.
    expect(await curl(topo, topo.gw, `http://${TOPOLOGY.podIp}:9100/`)).toMatchObject({
      code: 0,
      body: "pod-private\n",
    });
  });

  it("keeps the pod's own connections to the pod network working beside the guest's", async () => {
    await startWhoami(topo, 8082);
    for (let i = 0; i < 3; i++) {
      const r = await curl(topo, topo.pod, `http://${TOPOLOGY.svcIp}:8082/cgi-bin/whoami`);
      expect(r).toEqual({ code: 0, body: `client=${TOPOLOGY.podIp}\n` });
    }
    const ping = await guest!.serial.run(`ping -c 3 -W 5 ${TOPOLOGY.svcIp}`, 60_000);
    expect(ping.output).toMatch(/3 packets transmitted, 3 packets received/);
  });

  it("drops DHCP from the pod network before it reaches the launcher's DHCP server", async () => {
    // A neighbour on the pod network asks for the guest's lease, from port 68, at the pod IP.
    const discover = encodeMessage({
      op: 1,
      xid: 99,
      secs: 0,
      flags: 0,
      ciaddr: "0.0.0.0",
      yiaddr: "0.0.0.0",
      siaddr: "0.0.0.0",
      giaddr: "0.0.0.0",
      chaddr: config.interfaces[0]!.mac,
      options: new Map([[Option.MESSAGE_TYPE, encode.u8(MessageType.DISCOVER)]]),
    });
    const send =
      `const s=require("node:dgram").createSocket("udp4");s.bind(68,()=>{let n=0;const go=()=>` +
      `s.send(Buffer.from("${discover.toString("hex")}","hex"),67,"${TOPOLOGY.podIp}",()=>++n<5?go():s.close());go();});`;
    await topo.exec(topo.gw, [process.execPath, "-e", send]);
    await new Promise((r) => setTimeout(r, 300));
    const { dhcp } = await side!.stop();
    side = undefined;
    // Without the input filter these arrive at the socket and are dropped there as foreign.
    expect(dhcp).toMatchObject({ foreign: 0, OFFER: 1, ACK: 1 });
  });
});
