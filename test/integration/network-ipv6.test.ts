/**
 * IPv6 with the masquerade and bridge bindings, real TCG guest in real namespaces: dual-stack pods (the
 * guest answers a peer at the pod's IPv4 and IPv6 addresses, and its own IPv6 traffic leaves as the pod's)
 * and IPv6-only pods, with net.ipv4.ip_forward and net.ipv6.conf.all.forwarding 0 in the pod throughout.
 *
 * The guest configures its IPv6 address itself over the console (what cloud-init's network-config or a
 * static config does) — masquerade: fd10:0:2::2/120 via fd10:0:2::1; bridge: the pod's address via the pod's
 * gateway: the launcher serves no router advertisements (see docs/networking.md, IPv6).
 */
import { mkdir, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bootGuest,
  createTopology,
  type LauncherSide,
  type NetGuest,
  runNetsetupSide,
  startLauncherSide,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { startProcess } from "../../launcher/network/testing/process.ts";

const GW6 = "fd00:198:18:1::1";
/** A peer on the pod network that is not its gateway (passt maps the gateway's address to the pod itself). */
const PEER6 = "fd00:198:18:1::2";

/** A whoami CGI on [PEER6]:8081 in the gw namespace: shows the source address the guest's traffic has. */
async function startWhoami6(topo: Topology): Promise<void> {
  const www = join(topo.dir, "gw-www");
  await mkdir(join(www, "cgi-bin"), { recursive: true });
  const script = join(www, "cgi-bin", "whoami");
  await writeFile(
    script,
    '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nclient=%s\\n" "$REMOTE_ADDR"\n',
  );
  await chmod(script, 0o755);
  await topo.exec(topo.gw, ["ip", "-6", "addr", "add", `${PEER6}/64`, "dev", "p0", "nodad"]);
  topo.track(
    startProcess([
      "ip",
      "netns",
      "exec",
      topo.gw,
      "busybox",
      "httpd",
      "-f",
      "-p",
      `[${PEER6}]:8081`,
      "-h",
      www,
    ]),
  );
}

async function forwarding(topo: Topology): Promise<string> {
  return (await topo.exec(topo.pod, ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]))
    .trim()
    .replace(/\n/g, " ");
}

/** The guest's IPv6 configuration per binding. */
const GUEST6 = {
  masquerade: { cidr: "fd10:0:2::2/120", gateway: "fd10:0:2::1" },
  bridge: { cidr: `${TOPOLOGY.podIp6}/64`, gateway: GW6 },
} as const;

function suite(binding: "masquerade" | "bridge", ipv4: boolean) {
  describe(`${binding} binding, ${ipv4 ? "dual-stack" : "IPv6-only"} pod`, () => {
    let topo: Topology;
    let side: LauncherSide | undefined;
    let guest: NetGuest | undefined;

    beforeAll(async () => {
      topo = await createTopology({ ipv4, ipv6: true });
      await topo.exec(topo.pod, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0"]);
      const config = testLauncherConfig(topo.runDir, {
        binding,
        ports: [{ port: 8080, protocol: "TCP" }],
      });
      expect(await runNetsetupSide(topo, config)).toMatchObject({ ok: true });
      side = await startLauncherSide(topo, config);
      guest = await bootGuest(topo, config, side.nics, [
        ...(ipv4 ? ["vireo.dhcp=1"] : []),
        "vireo.http=8080",
      ]);
      await guest.serial.waitForReady(180_000);
      await guest.serial.waitForShell(60_000);
      const up = await guest.serial.run(
        // DAD keeps both ends' addresses tentative for about a second: ping until the gateway answers.
        `ip -6 addr add ${GUEST6[binding].cidr} dev eth0 && ip -6 route add default via ${GUEST6[binding].gateway} && ` +
          `for i in 1 2 3 4 5 6 7 8 9 10; do ping -6 -c 1 -W 2 ${GUEST6[binding].gateway} >/dev/null && echo ok && break; sleep 1; done`,
        60_000,
      );
      expect(up).toEqual({ exitCode: 0, output: "ok\n" });
      await startWhoami6(topo);
    });

    afterAll(async () => {
      await guest?.stop();
      await side?.stop();
      await topo?.destroy();
    });

    it("lets a peer reach the guest's declared port at the pod's IPv6 address", async () => {
      const body = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://[${TOPOLOGY.podIp6}]:8080/`]);
      expect(body).toMatch(/^vireo-guest hostname=/);
    });

    it("sends the guest's own IPv6 connections out as the pod's IPv6 address", async () => {
      const r = await guest!.serial.run(`wget -q -O - 'http://[${PEER6}]:8081/cgi-bin/whoami'`, 60_000);
      expect(r).toEqual({ exitCode: 0, output: `client=[${TOPOLOGY.podIp6}]\n` });
    });

    if (ipv4)
      it("still answers at the pod's IPv4 address", async () => {
        const body = await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`]);
        expect(body).toMatch(/^vireo-guest hostname=/);
      });

    it("needs neither IPv4 nor IPv6 forwarding in the pod", async () => {
      expect(await forwarding(topo)).toBe("0 0");
    });
  });
}

describe("passt binding, dual-stack pod", () => {
  let topo: Topology;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;
  let guestAddrs = "";

  beforeAll(async () => {
    topo = await createTopology({ ipv6: true });
    await topo.exec(topo.pod, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0"]);
    const config = testLauncherConfig(topo.runDir, {
      binding: "passt",
      ports: [{ port: 8080, protocol: "TCP" }],
    });
    side = await startLauncherSide(topo, config);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
    await guest.serial.waitForReady(180_000);
    await guest.serial.waitForShell(60_000);
    // passt answers the guest's router solicitation; the guest's kernel configures the address (SLAAC).
    const r = await guest.serial.run(
      "for i in $(seq 1 30); do ip -6 addr show dev eth0 scope global | grep -q inet6 && break; sleep 1; done; " +
        "ip -6 addr show dev eth0 scope global | grep -o 'inet6 [^ ]*'",
      60_000,
    );
    guestAddrs = r.output;
    await startWhoami6(topo);
    // passt's DHCPv6 hands the guest the pod's own address, which passt expects it to use (it sends inbound
    // connections to the address it last saw the guest use); busybox has no DHCPv6 client, so the guest takes
    // it as DHCPv6 would, drops the SLAAC one and speaks once from it.
    const slaac = /inet6 (\S+)/.exec(guestAddrs)?.[1];
    const own = await guest.serial.run(
      `ip -6 addr add ${TOPOLOGY.podIp6}/64 dev eth0 && ip -6 addr del ${slaac} dev eth0 && sleep 2 && ` +
        `wget -q -O /dev/null 'http://[${PEER6}]:8081/cgi-bin/whoami' && echo ok`,
      60_000,
    );
    expect(own).toEqual({ exitCode: 0, output: "ok\n" });
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
  });

  it("lets the guest configure an address in the pod's prefix from passt's router advertisement (SLAAC)", () => {
    expect(guestAddrs).toMatch(/inet6 fd00:198:18:1:/);
    expect(side!.nics).toHaveLength(1);
  });

  it("forwards the declared port from the pod's IPv6 and IPv4 addresses to the guest", async () => {
    for (const url of [`http://[${TOPOLOGY.podIp6}]:8080/`, `http://${TOPOLOGY.podIp}:8080/`])
      expect(await topo.exec(topo.gw, ["curl", "-sS", "-m", "20", url])).toMatch(/^vireo-guest hostname=/);
  });

  it("sends the guest's own IPv6 connections out as the pod's IPv6 address", async () => {
    const r = await guest!.serial.run(`wget -q -O - 'http://[${PEER6}]:8081/cgi-bin/whoami'`, 60_000);
    expect(r).toEqual({ exitCode: 0, output: `client=[${TOPOLOGY.podIp6}]\n` });
  });
});

suite("masquerade", true);
suite("masquerade", false);
suite("bridge", true);
suite("bridge", false);
