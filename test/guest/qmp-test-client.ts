import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";

// A deliberately small QMP client for the guest's own tests: line-delimited JSON, one command at a
// time, events recorded. The launcher owns the real client (issue 5); tests of other parts should
// use that one once it exists.

// Order matters: `return: z.unknown()` would also accept an event, so events and errors go first.
const messageSchema = z.union([
  z.object({ QMP: z.looseObject({}) }),
  z.object({
    event: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
    timestamp: z.object({ seconds: z.number(), microseconds: z.number() }),
  }),
  z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.string().optional() }),
  z.object({ return: z.unknown(), id: z.string().optional() }),
]);

/** An asynchronous QMP event (SHUTDOWN, POWERDOWN, GUEST_PANICKED, ...). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
}

/** A QMP command failed, timed out, or the connection broke. */
export class QmpTestError extends Error {
  constructor(
    readonly code: "QMP_CONNECT" | "QMP_COMMAND" | "QMP_TIMEOUT" | "QMP_CLOSED" | "QMP_PROTOCOL",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "QmpTestError";
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Minimal QMP client over a unix socket, for tests that boot the test guest by hand. */
export class QmpTestClient {
  #socket: Socket;
  #buffer = "";
  #pending = new Map<string, Pending>();
  #nextId = 0;
  #closed = false;
  #greeted: Promise<void>;
  #onGreeting: (() => void) | undefined;
  #listeners = new Set<() => void>();
  /** Every event received, in order. */
  readonly events: QmpEvent[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#greeted = new Promise((resolve) => (this.#onGreeting = resolve));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#receive(chunk));
    socket.on("close", () => this.#close());
    socket.on("error", () => {
      // "close" follows.
    });
  }

  /** Connects (retrying until the socket exists), reads the greeting and leaves negotiation mode. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpTestClient> {
    const deadline = Date.now() + timeoutMs;
    let socket: Socket;
    for (;;) {
      try {
        socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        break;
      } catch (cause) {
        if (Date.now() >= deadline)
          throw new QmpTestError("QMP_CONNECT", `cannot connect to ${path}`, { cause });
        await sleep(100);
      }
    }
    const client = new QmpTestClient(socket);
    await client.#withTimeout(client.#greeted, timeoutMs, "QMP greeting");
    await client.execute("qmp_capabilities", undefined, timeoutMs);
    return client;
  }

  /** Runs a command and resolves with its `return` value. */
  execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    if (this.#closed) return Promise.reject(new QmpTestError("QMP_CLOSED", `QMP closed before ${command}`));
    const id = `t${++this.#nextId}`;
    const result = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    return this.#withTimeout(result, timeoutMs, command).finally(() => this.#pending.delete(id));
  }

  /** Resolves with the first event named `name` (already received or yet to come) that matches. */
  async waitForEvent(
    name: string,
    timeoutMs: number,
    matches: (event: QmpEvent) => boolean = () => true,
  ): Promise<QmpEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.event === name && matches(e));
      if (found) return found;
      if (this.#closed) throw new QmpTestError("QMP_CLOSED", `QMP closed while waiting for ${name}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new QmpTestError("QMP_TIMEOUT", `no ${name} event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#listeners.add(done);
      });
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf("\n")) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line !== "") this.#handle(line);
    }
  }

  #handle(line: string): void {
    let message: z.infer<typeof messageSchema>;
    try {
      message = messageSchema.parse(JSON.parse(line));
    } catch (cause) {
      this.#failAll(new QmpTestError("QMP_PROTOCOL", `unexpected QMP message: ${line}`, { cause }));
      return;
    }
    if ("QMP" in message) {
      this.#onGreeting?.();
    } else if ("event" in message) {
      this.events.push({ event: message.event, data: message.data ?? {} });
      for (const wake of this.#listeners) wake();
    } else if ("error" in message) {
      const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
      pending?.reject(new QmpTestError("QMP_COMMAND", `${message.error.class}: ${message.error.desc}`));
    } else {
      const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
      pending?.resolve(message.return);
    }
  }

  #close(): void {
    this.#closed = true;
    this.#failAll(new QmpTestError("QMP_CLOSED", "QMP connection closed"));
    for (const wake of this.#listeners) wake();
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QmpTestError("QMP_TIMEOUT", `${what}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
