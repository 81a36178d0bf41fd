import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { ByteRing } from "./ring.ts";
import { connectWithRetry } from "../../lib/net/connect.ts";

/** Serial output kept in memory for `logs` and for console clients that attach late. */
export const CONSOLE_RING_BYTES = 64 * 1024;

/**
 * Most guest output queued in the launcher for one console session that reads slower than the guest
 * writes. Beyond it the session loses output (and is told how much); the guest is never slowed down and
 * the launcher never holds more than this per session, whatever the guest writes.
 */
export const SESSION_BUFFER_BYTES = 256 * 1024;

/** Most typed input queued for the guest's serial port; beyond it sessions stop being read until it drains. */
export const SERIAL_INPUT_BUFFER_BYTES = 64 * 1024;

/** What a session that fell behind is told, once it has room again. */
export const droppedNotice = (bytes: number) =>
  Buffer.from(
    `\r\n[vireo: this console session fell behind; ${bytes} bytes of guest output were dropped]\r\n`,
  );

/** One attached console session and what it missed. */
interface Session {
  socket: Socket;
  /** Guest output not sent to this session because its buffer was full, since the last notice. */
  dropped: number;
  /** All guest output this session lost. */
  droppedTotal: number;
}

/** Options for {@link ConsoleHub.start}. */
export interface ConsoleHubOptions {
  /** QEMU's serial socket (QEMU listens; the hub is its one client). */
  serialSocket: string;
  /** The socket console clients attach to (the hub listens, mode 0600). */
  consoleSocket: string;
  ringBytes?: number;
  /** Per-session limit of queued output (default {@link SESSION_BUFFER_BYTES}). */
  sessionBufferBytes?: number;
  connectTimeoutMs?: number;
  /** Called with each chunk of guest output (e.g. to mirror it to a file). */
  onOutput?: (chunk: Buffer) => void;
}

/**
 * The serial console, fanned out: QEMU's socket chardev takes one client, so the launcher is that client.
 * It keeps the recent output in a ring and serves any number of console sessions on its own socket; each
 * session first gets the recent output, and what a session types goes to the guest. Access is by file
 * permission on the socket (kubectl exec runs as the launcher's user), so there is no network listener.
 *
 * Every buffer is bounded (the guest is hostile): the ring; each session's queue
 * ({@link SESSION_BUFFER_BYTES}: a stalled or slow session loses output and is told, rather than growing
 * the launcher by what the guest writes); and typed input, which pauses the sessions while the guest does
 * not read its serial port.
 */
export class ConsoleHub {
  #serial: Socket;
  #server: Server;
  #clients = new Map<Socket, Session>();
  #sessionBufferBytes: number;
  #ring: ByteRing;
  #consoleSocket: string;

  private constructor(
    serial: Socket,
    server: Server,
    ring: ByteRing,
    consoleSocket: string,
    sessionBufferBytes: number,
  ) {
    this.#serial = serial;
    this.#sessionBufferBytes = sessionBufferBytes;
    this.#server = server;
    this.#ring = ring;
    this.#consoleSocket = consoleSocket;
  }

  /** Connects to QEMU's serial socket (retrying until QEMU created it) and starts serving clients. */
  static async start(options: ConsoleHubOptions): Promise<ConsoleHub> {
    const serial = await connectSerial(options.serialSocket, options.connectTimeoutMs ?? 10_000);
    const ring = new ByteRing(options.ringBytes ?? CONSOLE_RING_BYTES);
    rmSync(options.consoleSocket, { force: true });
    const server = createServer();
    const hub = new ConsoleHub(
      serial,
      server,
      ring,
      options.consoleSocket,
      options.sessionBufferBytes ?? SESSION_BUFFER_BYTES,
    );
    serial.on("data", (chunk: Buffer) => {
      ring.write(chunk);
      options.onOutput?.(chunk);
      for (const s of hub.#clients.values()) hub.#send(s, chunk);
    });
    // Typed input waits in the serial socket while the guest does not read it; past the limit the
    // sessions are not read either, so a session pasting megabytes cannot grow the launcher.
    serial.on("drain", () => {
      for (const s of hub.#clients.values()) s.socket.resume();
    });
    serial.on("error", () => {});
    serial.on("close", () => {
      for (const s of hub.#clients.values()) s.socket.end();
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

  /** Bytes queued in the launcher: for each session its unsent output, and typed input for the guest. */
  buffered(): { sessions: number[]; serialInput: number } {
    return {
      sessions: [...this.#clients.keys()].map((c) => c.writableLength),
      serialInput: this.#serial.writableLength,
    };
  }

  /** Guest output lost by slow sessions, over all sessions so far attached and still attached. */
  droppedBytes(): number {
    let n = 0;
    for (const s of this.#clients.values()) n += s.droppedTotal;
    return n;
  }

  /** Stops serving and disconnects from QEMU. */
  async close(): Promise<void> {
    for (const c of this.#clients.keys()) c.destroy();
    this.#serial.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#consoleSocket, { force: true });
  }

  /** Queues `chunk` for a session unless that would take its queue past the limit; then it is dropped. */
  #send(s: Session, chunk: Buffer): void {
    if (s.socket.destroyed) return;
    const limit = this.#sessionBufferBytes;
    if (s.dropped > 0) {
      const notice = droppedNotice(s.dropped);
      if (s.socket.writableLength + notice.length + chunk.length > limit) {
        s.dropped += chunk.length;
        s.droppedTotal += chunk.length;
        return;
      }
      s.socket.write(notice);
      s.dropped = 0;
    }
    if (!chunk.length) return;
    if (s.socket.writableLength + chunk.length > limit) {
      s.dropped += chunk.length;
      s.droppedTotal += chunk.length;
      return;
    }
    s.socket.write(chunk);
  }

  #attach(client: Socket): void {
    const session: Session = { socket: client, dropped: 0, droppedTotal: 0 };
    // A session starts with the recent output, so what the guest printed before is not lost on attach.
    const recent = this.#ring.contents();
    if (recent.length) this.#send(session, recent);
    this.#clients.set(client, session);
    // A session that fell behind hears how much it lost as soon as it has caught up, even if the guest
    // has gone quiet meanwhile.
    client.on("drain", () => {
      if (session.dropped > 0) this.#send(session, Buffer.alloc(0));
    });
    client.on("data", (chunk: Buffer) => {
      if (this.#serial.destroyed) return;
      this.#serial.write(chunk);
      if (this.#serial.writableLength > SERIAL_INPUT_BUFFER_BYTES)
        for (const c of this.#clients.keys()) c.pause();
    });
    client.on("error", () => {});
    // A session that ended its side (the console client exited) gets no more output; the socket then
    // closes (allowHalfOpen is off), which also covers clients that vanish without a FIN.
    client.on("end", () => this.#clients.delete(client));
    client.on("close", () => this.#clients.delete(client));
  }
}

async function connectSerial(path: string, timeoutMs: number): Promise<Socket> {
  try {
    return await connectWithRetry(path, { timeoutMs });
  } catch (err) {
    throw new Error(`cannot connect to the serial socket ${path}`, { cause: (err as Error).cause ?? err });
  }
}
