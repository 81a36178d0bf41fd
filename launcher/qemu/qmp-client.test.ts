import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QmpClient } from "./qmp-client.ts";
import { QmpError } from "./qmp-errors.ts";

const GREETING = {
  QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: "fake" }, capabilities: ["oob"] },
};

type Handler = (
  cmd: { execute: string; arguments?: Record<string, unknown>; id?: string },
  peer: Socket,
) => void;

/** A fake QMP server speaking the wire protocol; `handler` decides the answers. */
function fakeServer(path: string, handler: Handler, greeting: unknown = GREETING): Promise<Server> {
  const server = createServer((peer) => {
    peer.write(JSON.stringify(greeting) + "\r\n");
    let buf = "";
    peer.on("data", (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const cmd = JSON.parse(line) as Parameters<Handler>[0];
        if (cmd.execute === "qmp_capabilities")
          peer.write(JSON.stringify({ return: {}, id: cmd.id }) + "\r\n");
        else handler(cmd, peer);
      }
    });
    peer.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

const event = (name: string, data: object = {}) =>
  JSON.stringify({ event: name, data, timestamp: { seconds: 1700000000, microseconds: 5000 } }) + "\r\n";

describe("QmpClient", () => {
  let dir: string;
  let sock: string;
  let server: Server | undefined;
  let client: QmpClient | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "qmp-test-"));
    sock = join(dir, "qmp.sock");
  });
  afterEach(async () => {
    client?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("negotiates capabilities and matches answers to commands by id, out of order", async () => {
    const held: Parameters<Handler>[0][] = [];
    server = await fakeServer(sock, (cmd, peer) => {
      held.push(cmd);
      // Answer the second command first to prove matching is by id, not by order.
      if (held.length === 2)
        for (const c of [...held].reverse())
          peer.write(
            JSON.stringify({ return: { echo: c.execute, args: c.arguments ?? null }, id: c.id }) + "\r\n",
          );
    });
    client = await QmpClient.connect(sock);
    expect(client.greeting.version.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    const [a, b] = await Promise.all([client.execute("query-status"), client.execute("human", { x: 1 })]);
    expect(a).toEqual({ echo: "query-status", args: null });
    expect(b).toEqual({ echo: "human", args: { x: 1 } });
  });

  it("turns QEMU errors into QmpError with the error class", async () => {
    server = await fakeServer(sock, (cmd, peer) =>
      peer.write(JSON.stringify({ error: { class: "CommandNotFound", desc: "nope" }, id: cmd.id }) + "\r\n"),
    );
    client = await QmpClient.connect(sock);
    const err = await client.execute("bogus").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({
      code: "QMP_COMMAND",
      details: { command: "bogus", errorClass: "CommandNotFound" },
    });
  });

  it("times out a command QEMU does not answer, and keeps working after", async () => {
    server = await fakeServer(sock, (cmd, peer) => {
      if (cmd.execute !== "slow") peer.write(JSON.stringify({ return: 42, id: cmd.id }) + "\r\n");
    });
    client = await QmpClient.connect(sock);
    await expect(client.execute("slow", undefined, { timeoutMs: 100 })).rejects.toMatchObject({
      code: "QMP_TIMEOUT",
    });
    await expect(client.execute("fast")).resolves.toBe(42);
  });

  it("streams events in order with their data and timestamps, and ends the stream on close", async () => {
    server = await fakeServer(sock, (cmd, peer) => {
      peer.write(event("STOP"));
      peer.write(event("RESUME"));
      peer.write(JSON.stringify({ return: {}, id: cmd.id }) + "\r\n");
      peer.write(event("SHUTDOWN", { guest: true, reason: "guest-shutdown" }));
      setTimeout(() => peer.end(), 20);
    });
    client = await QmpClient.connect(sock);
    const seen: { event: string; data: object; timestampMs: number }[] = [];
    const consumer = (async () => {
      for await (const e of client!.events()) seen.push(e);
    })();
    await client.execute("cont");
    await consumer; // ends because the server closed the connection
    expect(seen.map((e) => e.event)).toEqual(["STOP", "RESUME", "SHUTDOWN"]);
    expect(seen[2]!.data).toEqual({ guest: true, reason: "guest-shutdown" });
    expect(seen[0]!.timestampMs).toBe(1700000000005);
    expect(client.closed).toBe(true);
  });

  it("waitForEvent resolves on the matching event only", async () => {
    server = await fakeServer(sock, (cmd, peer) => {
      peer.write(event("BLOCK_IO_ERROR", { device: "a" }));
      peer.write(event("BLOCK_IO_ERROR", { device: "b" }));
      peer.write(JSON.stringify({ return: {}, id: cmd.id }) + "\r\n");
    });
    client = await QmpClient.connect(sock);
    const waiting = client.waitForEvent("BLOCK_IO_ERROR", 5000, (e) => e.data.device === "b");
    await client.execute("trigger");
    await expect(waiting).resolves.toMatchObject({ data: { device: "b" } });
    await expect(client.waitForEvent("NEVER", 50)).rejects.toMatchObject({ code: "QMP_TIMEOUT" });
  });

  it("fails pending commands with QMP_CLOSED when the peer goes away", async () => {
    server = await fakeServer(sock, (_cmd, peer) => peer.destroy());
    client = await QmpClient.connect(sock);
    await expect(client.execute("quit")).rejects.toMatchObject({ code: "QMP_CLOSED" });
    await expect(client.execute("again")).rejects.toMatchObject({ code: "QMP_CLOSED" });
  });

  it("rejects a peer that does not greet with QMP", async () => {
    server = await fakeServer(sock, () => {}, { hello: "world" });
    await expect(QmpClient.connect(sock)).rejects.toMatchObject({ code: "QMP_PROTOCOL" });
  });

  it("gives up connecting to a socket that never appears", async () => {
    await expect(
      QmpClient.connect(join(dir, "absent.sock"), { connectTimeoutMs: 200 }),
    ).rejects.toMatchObject({
      code: "QMP_CONNECT",
    });
  });
});

describe("QmpClient over a peer that dies", () => {
  it("rejects instead of crashing when a write fails with EPIPE", async () => {
    const { PassThrough, Writable } = await import("node:stream");
    const readable = new PassThrough();
    const writable = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const opening = QmpClient.open(readable, writable, () => readable.destroy(), {
      handshakeTimeoutMs: 2000,
    });
    readable.write(
      JSON.stringify({
        QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: "" }, capabilities: [] },
      }) + "\n",
    );
    await expect(opening).rejects.toThrow(/QMP|closed/i);
  });
});
