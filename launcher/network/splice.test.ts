import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NetworkError } from "./errors.ts";
import { startSplices, type Splices } from "./splice.ts";

// The "guest" is an echo server on 127.0.0.1:P; the splice listens on 127.0.0.2:P (all of 127/8 is local).
const GUEST = "127.0.0.1";
const LISTEN = "127.0.0.2";

async function echoServer(): Promise<{ server: Server; port: number; held: Socket[] }> {
  const held: Socket[] = [];
  const server = createServer((s) => {
    held.push(s);
    s.on("data", (d) => s.write(`echo:${d.toString()}`));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, GUEST, r));
  return { server, port: (server.address() as { port: number }).port, held };
}

/** Connects to the splice, writes `text` and collects what comes back until the socket closes or `want` arrives. */
function talk(
  port: number,
  text: string,
  want?: string,
): Promise<{ data: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect({ host: LISTEN, port });
    let data = "";
    socket.on("connect", () => socket.write(text));
    socket.on("data", (d) => {
      data += d.toString();
      if (want && data.includes(want)) resolve({ data, closed: false, socket });
    });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve({ data, closed: true, socket }));
  });
}

describe("port-forward splice", () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(maxConnections?: number): Promise<{ port: number; splices: Splices; held: Socket[] }> {
    const { server, port, held } = await echoServer();
    cleanup.push(() => new Promise((r) => server.close(r)));
    cleanup.push(() => held.forEach((s) => s.destroy()));
    const splices = await startSplices([{ nic: "default", port, guestIp: GUEST, sourceIp: GUEST }], {
      listenHost: LISTEN,
      ...(maxConnections ? { maxConnections } : {}),
    });
    cleanup.push(() => splices.close());
    return { port, splices, held };
  }

  it("carries bytes both ways between the client and the guest, from the planned source address", async () => {
    const { port, splices, held } = await setup();
    const r = await talk(port, "hello", "echo:hello");
    expect(r.data).toBe("echo:hello");
    expect(held[0]!.remoteAddress).toBe(GUEST);
    r.socket.destroy();
    await expect.poll(() => splices.counts()[port]!.open).toBe(0);
    expect(splices.counts()[port]).toMatchObject({ accepted: 1, refused: 0, failed: 0 });
  });

  it("closes connections beyond the bound at once and accepts again when one ends", async () => {
    const { port, splices } = await setup(2);
    const a = await talk(port, "a", "echo:a");
    const b = await talk(port, "b", "echo:b");
    const c = await talk(port, "c");
    expect(c).toMatchObject({ data: "", closed: true });
    expect(splices.counts()[port]).toMatchObject({ accepted: 2, refused: 1, open: 2 });
    a.socket.destroy();
    await expect.poll(() => splices.counts()[port]!.open).toBe(1);
    const d = await talk(port, "d", "echo:d");
    expect(d.data).toBe("echo:d");
    b.socket.destroy();
    d.socket.destroy();
  });

  it("closes the client's connection when the guest does not listen", async () => {
    const { server, port } = await echoServer();
    await new Promise((r) => server.close(r));
    const splices = await startSplices([{ nic: "default", port, guestIp: GUEST, sourceIp: GUEST }], {
      listenHost: LISTEN,
    });
    cleanup.push(() => splices.close());
    expect(await talk(port, "x")).toMatchObject({ data: "", closed: true });
    await expect.poll(() => splices.counts()[port]).toMatchObject({ accepted: 1, failed: 1, open: 0 });
  });

  it("fails with SERVICE_FAILED when the port is taken, closing what it opened", async () => {
    const { port } = await setup();
    const err = await startSplices([{ nic: "default", port, guestIp: GUEST, sourceIp: GUEST }], {
      listenHost: LISTEN,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe("SERVICE_FAILED");
  });
});
