/**
 * A small typed QMP (QEMU Machine Protocol) client.
 *
 * Written here because the only QMP package on npm (`qemu-qmp`) is a single untyped release without
 * timeouts or an event stream; QMP itself is line-delimited JSON and fits in one file.
 */
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { z } from "zod";
import { QmpError } from "./qmp-errors.ts";
import { connectWithRetry } from "../../lib/net/connect.ts";

/** The greeting QEMU sends when a client connects. */
export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** An asynchronous event from QEMU (SHUTDOWN, STOP, GUEST_PANICKED, ...). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** Host time of the event in milliseconds since the epoch. */
  timestampMs: number;
}

/** Options for one command. */
export interface ExecuteOptions {
  /** Reject with QMP_TIMEOUT when QEMU has not answered within this time (default: the client's). */
  timeoutMs?: number;
}

/** Options for opening a client. */
export interface QmpClientOptions {
  /** Default per-command timeout. */
  commandTimeoutMs?: number;
  /** How long to wait for the greeting and capabilities negotiation. */
  handshakeTimeoutMs?: number;
}

const greetingSchema = z.object({
  QMP: z.object({
    version: z.object({
      qemu: z.object({ major: z.number(), minor: z.number(), micro: z.number() }),
      package: z.string(),
    }),
    capabilities: z.array(z.string()),
  }),
});
const messageSchema = z.union([
  z.object({ id: z.string(), return: z.unknown() }),
  z.object({ id: z.string(), error: z.object({ class: z.string(), desc: z.string() }) }),
  z.object({
    event: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
    timestamp: z.object({ seconds: z.number(), microseconds: z.number() }),
  }),
]);

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: QmpError) => void;
  timer: NodeJS.Timeout;
}

/** A negotiated QMP connection: commands with timeouts, and a stream of events. */
export class QmpClient {
  readonly greeting: QmpGreeting;
  #writable: Writable;
  #close: () => void;
  #pending = new Map<string, Pending>();
  #listeners = new Set<(e: QmpEvent) => void>();
  #endListeners = new Set<() => void>();
  #nextId = 1;
  #closed = false;
  #commandTimeoutMs: number;

  private constructor(
    greeting: QmpGreeting,
    writable: Writable,
    close: () => void,
    options: QmpClientOptions,
  ) {
    this.greeting = greeting;
    this.#writable = writable;
    this.#close = close;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
  }

  /** Connects to a QMP unix socket, retrying while it does not exist yet, and negotiates capabilities. */
  static async connect(
    path: string,
    options: QmpClientOptions & { connectTimeoutMs?: number } = {},
  ): Promise<QmpClient> {
    let socket: Socket;
    try {
      socket = await connectWithRetry(path, { timeoutMs: options.connectTimeoutMs ?? 10_000 });
    } catch (err) {
      const cause = (err as Error).cause ?? err;
      throw new QmpError("QMP_CONNECT", `cannot connect to QMP socket ${path}`, {}, { cause });
    }
    socket.on("error", () => {
      // "close" follows and fails whatever is pending.
    });
    return QmpClient.open(socket, socket, () => socket.destroy(), options);
  }

  /** Runs QMP over any stream pair (a socket, or QEMU's stdio with `-qmp stdio`). */
  static async open(
    readable: Readable,
    writable: Writable,
    close: () => void,
    options: QmpClientOptions = {},
  ): Promise<QmpClient> {
    // Lines and the end of the stream go to the handshake first, then to the client.
    let deliver: (line: string) => void = () => {};
    let ended: () => void = () => {};
    let buffer = "";
    readable.setEncoding("utf8");
    readable.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        deliver(line);
      }
    });
    readable.once("end", () => ended());
    readable.once("close", () => ended());
    // A write to a QEMU that just died (EPIPE on its stdin or socket) must not crash the launcher: the end
    // of the readable side follows and fails whatever is pending.
    writable.on("error", () => ended());

    const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
    const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(() => {
        close();
        reject(new QmpError("QMP_TIMEOUT", `no QMP greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      ended = () => {
        clearTimeout(timer);
        reject(new QmpError("QMP_CLOSED", "connection closed before the QMP greeting"));
      };
      deliver = (line) => {
        clearTimeout(timer);
        const parsed = greetingSchema.safeParse(safeJson(line));
        if (!parsed.success) {
          close();
          reject(new QmpError("QMP_PROTOCOL", `not a QMP greeting: ${line.slice(0, 200)}`));
        } else resolve(parsed.data.QMP);
      };
    });
    const client = new QmpClient(greeting, writable, close, options);
    deliver = (line) => client.#receive(line);
    ended = () => client.#ended();
    if (readable.destroyed || readable.readableEnded) client.#ended();
    await client.execute("qmp_capabilities", undefined, { timeoutMs });
    return client;
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a command and resolves with its `return` value; rejects with a QmpError. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: ExecuteOptions = {},
  ): Promise<T> {
    if (this.#closed)
      return Promise.reject(new QmpError("QMP_CLOSED", `QMP closed; cannot run ${command}`, { command }));
    const id = String(this.#nextId++);
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new QmpError("QMP_TIMEOUT", `QMP ${command}: no answer within ${timeoutMs} ms`, { command }));
      }, timeoutMs);
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.#writable.write(
        `${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`,
      );
    });
  }

  /** Calls `listener` for every event from now on; returns a function that unsubscribes. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` once when the connection ends (at once if it has ended). */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#endListeners.add(listener);
  }

  /** Events from now on as an async stream that ends when the connection closes. */
  async *events(): AsyncGenerator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const off = this.onEvent((e) => {
      queue.push(e);
      wake?.();
    });
    const onEnd = () => wake?.();
    this.#endListeners.add(onEnd);
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      off();
      this.#endListeners.delete(onEnd);
    }
  }

  /** Resolves with the first event named `name` (matching `predicate`) or rejects after `timeoutMs`. */
  waitForEvent(
    name: string,
    timeoutMs: number,
    predicate: (e: QmpEvent) => boolean = () => true,
  ): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        off();
        this.#endListeners.delete(onEnd);
        fn();
      };
      const off = this.onEvent((e) => {
        if (e.event === name && predicate(e)) done(() => resolve(e));
      });
      const onEnd = () =>
        done(() => reject(new QmpError("QMP_CLOSED", `QMP closed while waiting for ${name}`)));
      this.#endListeners.add(onEnd);
      const timer = setTimeout(
        () => done(() => reject(new QmpError("QMP_TIMEOUT", `no ${name} event within ${timeoutMs} ms`))),
        timeoutMs,
      );
    });
  }

  /** Closes the connection; pending commands fail with QMP_CLOSED. Safe to call twice. */
  close(): void {
    this.#close();
    this.#ended();
  }

  #receive(line: string): void {
    const parsed = messageSchema.safeParse(safeJson(line));
    if (!parsed.success) return; // Unknown shapes (e.g. answers to commands we did not send) are not ours.
    const msg = parsed.data;
    if ("event" in msg) {
      const event: QmpEvent = {
        event: msg.event,
        data: msg.data ?? {},
        timestampMs: msg.timestamp.seconds * 1000 + Math.floor(msg.timestamp.microseconds / 1000),
      };
      for (const l of [...this.#listeners]) l(event);
      return;
    }
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    clearTimeout(pending.timer);
    if ("error" in msg) {
      pending.reject(
        new QmpError("QMP_COMMAND", `QMP ${pending.command}: ${msg.error.class}: ${msg.error.desc}`, {
          command: pending.command,
          errorClass: msg.error.class,
        }),
      );
    } else pending.resolve(msg.return);
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(
        new QmpError("QMP_CLOSED", `QMP closed before ${p.command} was answered`, { command: p.command }),
      );
    }
    for (const l of [...this.#endListeners]) l();
    this.#endListeners.clear();
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
