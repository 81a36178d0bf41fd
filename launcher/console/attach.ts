import { connect } from "node:net";

/** Ctrl-] ends a console session, as in telnet and virsh console. */
export const DETACH_BYTE = 0x1d;

/** Signals that end a session: the terminal hung up (SIGHUP) or the runtime stops the exec (SIGTERM). */
export const SESSION_END_SIGNALS = ["SIGHUP", "SIGTERM"] as const;

/** Exit code for a session ended by a signal, as a shell reports it (128 + the signal's number). */
const SIGNAL_EXIT: Record<(typeof SESSION_END_SIGNALS)[number], number> = { SIGHUP: 129, SIGTERM: 143 };

/** How long a closing session waits for the hub to acknowledge before it drops the socket anyway. */
const CLOSE_GRACE_MS = 2_000;

/** Options for {@link attachConsole}. */
export interface AttachOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WritableStream;
  /** Replay the recent output first (default: only what comes after attaching). */
  replay?: Buffer;
  /** Print how to detach (on stderr) when the input is a terminal. */
  banner?: boolean;
  /** Where SIGHUP/SIGTERM are received (default: this process); tests pass an EventEmitter. */
  signals?: Pick<NodeJS.Process, "on" | "off">;
}

/**
 * Connects the terminal to the launcher's console socket: raw mode on a TTY so keys reach the guest as
 * typed, Ctrl-] detaches. Resolves with 0 when the user detaches, the input ends or the console closes, and
 * with 129/143 on SIGHUP/SIGTERM; in every case the socket session is closed first, so the hub drops it.
 */
export async function attachConsole(socketPath: string, options: AttachOptions = {}): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const signals = options.signals ?? process;
  const socket = connect(socketPath);
  // The hub counts the session as soon as it accepts, a moment before our "connect" event: a SIGTERM in
  // between (kubectl exec stopping at once) must still end us with 143, not by the default action. One set
  // of listeners serves the whole session: removing the last listener uninstalls the process's handler,
  // and a signal that arrived meanwhile would be lost (seen: the process then never ended).
  let earlyExit: number | undefined;
  let onSignalNow = (signal: (typeof SESSION_END_SIGNALS)[number]) => {
    earlyExit ??= SIGNAL_EXIT[signal];
    socket.destroy();
  };
  const listeners = SESSION_END_SIGNALS.map((signal) => [signal, () => onSignalNow(signal)] as const);
  const unlisten = () => {
    for (const [signal, handler] of listeners) signals.off(signal, handler);
  };
  for (const [signal, handler] of listeners) signals.on(signal, handler);
  const connected = await new Promise<boolean>((resolve, reject) => {
    socket.once("connect", () => resolve(true));
    socket.once("close", () => resolve(false));
    socket.once("error", (err) =>
      reject(new Error(`cannot attach to the console at ${socketPath}: ${err.message}`)),
    );
  }).catch((err: unknown) => {
    unlisten();
    throw err;
  });
  if (!connected || earlyExit !== undefined) {
    unlisten();
    socket.destroy();
    return earlyExit ?? SIGNAL_EXIT.SIGHUP;
  }
  const tty = input.isTTY === true;
  if (tty && options.banner !== false)
    process.stderr.write("Connected to the serial console. Escape character is ^]\r\n");
  if (options.replay?.length) output.write(options.replay);
  if (tty) input.setRawMode(true);
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      input.off("data", onInput);
      input.off("end", onEnd);
      input.off("error", onEnd);
      unlisten();
      if (tty) input.setRawMode(false);
      input.pause();
      // end(), not destroy(): what was typed last still reaches the hub, which then closes its side.
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.once("close", () => {
        clearTimeout(grace);
        resolve(code);
      });
      if (socket.destroyed) {
        clearTimeout(grace);
        resolve(code);
      } else socket.end();
    };
    const onInput = (chunk: Buffer) => {
      const at = tty ? chunk.indexOf(DETACH_BYTE) : -1;
      if (at >= 0) {
        if (at > 0) socket.write(chunk.subarray(0, at));
        finish(0);
      } else socket.write(chunk);
    };
    // Without a terminal nothing else ends this process when the caller goes away: an exec whose client
    // disconnected only closes our stdin. Ending here keeps a dropped `vireo console` from leaving a session.
    const onEnd = () => finish(0);
    onSignalNow = (signal) => finish(SIGNAL_EXIT[signal]);
    input.on("data", onInput);
    input.once("end", onEnd);
    input.once("error", onEnd);
    input.resume();
    // Backpressure: this process runs in the launcher's container (kubectl exec), so it must not buffer what
    // a slow terminal cannot take. It stops reading; the hub then drops output for this session (bounded
    // there) and says how much once the terminal catches up.
    socket.on("data", (chunk) => {
      if (!output.write(chunk)) {
        socket.pause();
        output.once("drain", () => socket.resume());
      }
    });
    socket.on("close", () => finish(0));
    socket.on("error", () => {});
  });
}
