import { createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { DhcpLease } from "../plan-types.ts";
import { encode, encodeMessage, MessageType, Option } from "./packet.ts";
import { startDhcpServer, type DhcpServer } from "./server.ts";

// Real UDP sockets on loopback: the "guest" is a socket on 127.0.0.1, which is its lease's address.
const lease: DhcpLease = {
  interface: "lo",
  serverAddress: "127.0.0.1",
  mac: "0a:58:0a:f4:01:05",
  ip: "127.0.0.1",
  prefixLength: 8,
  routes: [],
  dns: [],
  search: [],
  mtu: 1500,
};

const discover = encodeMessage({
  op: 1,
  xid: 7,
  secs: 0,
  flags: 0,
  ciaddr: "0.0.0.0",
  yiaddr: "0.0.0.0",
  siaddr: "0.0.0.0",
  giaddr: "0.0.0.0",
  chaddr: lease.mac,
  options: new Map([[Option.MESSAGE_TYPE, encode.u8(MessageType.DISCOVER)]]),
});

async function udp(port = 0) {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(port, "127.0.0.1", () => r()));
  return s;
}

let server: DhcpServer | undefined;
const sockets: ReturnType<typeof createSocket>[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const s of sockets.splice(0)) s.close();
});

describe("DHCP server under a flood", () => {
  it("parses a bounded number of requests, drops oversized and foreign datagrams unread, logs a bounded number of lines", async () => {
    const client = await udp();
    const stranger = await udp();
    sockets.push(client, stranger);
    const clientPort = (client.address() as AddressInfo).port;
    const probe = await udp();
    const serverPort = (probe.address() as AddressInfo).port;
    probe.close();
    let replies = 0;
    client.on("message", () => replies++);
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (l: string) => void lines.push(l) });
    server = await startDhcpServer([lease], { port: serverPort, clientPort, logger, requestsPerSecond: 10 });
    const send = (s: typeof client, b: Buffer) =>
      new Promise<void>((r) => s.send(b, serverPort, "127.0.0.1", () => r()));
    // A 64 KB request, 100 from another port, then 2,000 valid ones as fast as the guest can send them
    // (the kernel drops some of those itself when the socket's buffer is full).
    await send(client, Buffer.concat([discover, Buffer.alloc(65_000)]));
    for (let i = 0; i < 100; i++) await send(stranger, discover);
    await sleep(100);
    for (let i = 0; i < 2000; i++) await send(client, discover);
    await sleep(300);
    const c = server.counts();
    expect(c.OFFER).toBeGreaterThan(0);
    // Burst 20, then 10/s: the rest were dropped before parsing.
    expect(c.OFFER).toBeLessThanOrEqual(30);
    expect(replies).toBe(c.OFFER);
    expect(c.rateLimited).toBeGreaterThan(0);
    expect(c.rateLimited + c.OFFER).toBeLessThanOrEqual(2000);
    expect(c.oversized).toBe(1);
    expect(c.foreign).toBe(100);
    // Each kind of line at most its burst plus the rate: the flood does not flood the log.
    expect(lines.length).toBeLessThanOrEqual(4 * 30);
  });
});
