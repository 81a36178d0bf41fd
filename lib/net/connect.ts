/**
 * The one connect-retry: a unix socket that a child process creates once it is up (QEMU's QMP and serial
 * sockets, the launcher's console socket) is connected to by retrying until it answers or time runs out.
 */
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** How long to keep trying. */
export interface ConnectRetryOptions {
  /** Give up after this long (Infinity: until `giveUp`). */
  timeoutMs: number;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
  /** Checked before each attempt: stop early (e.g. the process that would listen has exited). */
  giveUp?: () => boolean;
}

/** The socket did not answer in time (or `giveUp` said stop); `cause` is the last attempt's error. */
export class ConnectError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "CONNECT_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectError";
  }
}

/** One attempt. */
function attempt(path: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = connect(path);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Connects to the unix socket at `path`, retrying while it is missing or refuses. */
export async function connectWithRetry(path: string, o: ConnectRetryOptions): Promise<Socket> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    let cause: unknown;
    if (!o.giveUp?.()) {
      try {
        return await attempt(path);
      } catch (err) {
        cause = err;
      }
    }
    if (o.giveUp?.() || Date.now() >= deadline)
      throw new ConnectError(`cannot connect to ${path}`, { cause });
    await sleep(o.intervalMs ?? 50);
  }
}
