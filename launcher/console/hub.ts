import { chmodSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { ByteRing } from "./ring.ts";

/** Serial output kept in memory for `logs` and for console clients that attach late. */
export const CONSOLE_RING_BYTES = 64 * 1024;

/** Options for {@link ConsoleHub.start}. */
export interface ConsoleHubOptions {
  /** QEMU's serial socket (QEMU listens; the hub is its one client). */
  serialSocket: string;
  /** The socket console clients attach to (the hub listens, mode 0600). */
  consoleSocket: string;
  ringBytes?: number;
  connectTimeoutMs?: number;
  /** Called with each chunk of guest output (e.g. to mirror it to a file). */
  onOutput?: (chunk: Buffer) => void;
}

/**
 * The serial console, fanned out: QEMU's socket chardev takes one client, so the launcher is that client.
 * It keeps the recent output in a ring and serves any number of console sessions on its own socket; each
 * session first gets the recent output, and what a session types goes to the guest. Access is by file permission on the socket (kubectl exec runs as the
 * launcher's user), so there is no network listener.
 */
export class ConsoleHub {
  #serial: Socket;
  #server: Server;
  #clients = new Set<Socket>();
  #ring: ByteRing;
  #consoleSocket: string;

  private constructor(serial: Socket, server: Server, ring: ByteRing, consoleSocket: string) {
    this.#serial = serial;
    this.#server = server;
    this.#ring = ring;
    this.#consoleSocket = consoleSocket;
  }

  /** Connects to QEMU's serial socket (retrying until QEMU created it) and starts serving clients. */
  static async start(options: ConsoleHubOptions): Promise<ConsoleHub> {
    const serial = await connectWithRetry(options.serialSocket, options.connectTimeoutMs ?? 10_000);
    const ring = new ByteRing(options.ringBytes ?? CONSOLE_RING_BYTES);
    rmSync(options.consoleSocket, { force: true });
    const server = createServer();
    const hub = new ConsoleHub(serial, server, ring, options.consoleSocket);
    serial.on("data", (chunk: Buffer) => {
      ring.write(chunk);
      options.onOutput?.(chunk);
      for (const c of hub.#clients) c.write(chunk);
    });
    serial.on("error", () => {});
    serial.on("close", () => {
      for (const c of hub.#clients) c.end();
    });
    server.on("connection", (client) => hub.#attach(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.consoleSocket, () => resolve());
    });
    chmodSync(options.consoleSocket, 0o600);
    return hub;
  }

  /** The recent console output (at most the ring's size). */
  recent(): Buffer {
    return this.#ring.contents();
  }

  /** Console sessions currently attached. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Stops serving and disconnects from QEMU. */
  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    this.#serial.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#consoleSocket, { force: true });
  }

  #attach(client: Socket): void {
    // A session starts with the recent output, so what the guest printed before is not lost on attach.
    const recent = this.#ring.contents();
    if (recent.length) client.write(recent);
    this.#clients.add(client);
    client.on("data", (chunk: Buffer) => {
      if (!this.#serial.destroyed) this.#serial.write(chunk);
    });
    client.on("error", () => {});
    // A session that ended its side (the console client exited) gets no more output; the socket then
    // closes (allowHalfOpen is off), which also covers clients that vanish without a FIN.
    client.on("end", () => this.#clients.delete(client));
    client.on("close", () => this.#clients.delete(client));
  }
}

async function connectWithRetry(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once("connect", () => {
          s.off("error", reject);
          resolve(s);
        });
        s.once("error", reject);
      });
    } catch (err) {
      if (Date.now() >= deadline)
        throw new Error(`cannot connect to the serial socket ${path}`, { cause: err });
      await sleep(50);
    }
  }
}
