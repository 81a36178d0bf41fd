import { connect } from "node:net";

/** Ctrl-] ends a console session, as in telnet and virsh console. */
export const DETACH_BYTE = 0x1d;

/** Options for {@link attachConsole}. */
export interface AttachOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WritableStream;
  /** Replay the recent output first (default: only what comes after attaching). */
  replay?: Buffer;
  /** Print how to detach (on stderr) when the input is a terminal. */
  banner?: boolean;
}

/**
 * Connects the terminal to the launcher's console socket: raw mode on a TTY so keys reach the guest as
 * typed, Ctrl-] detaches. Resolves with 0 when the user detaches or the console closes.
 */
export async function attachConsole(socketPath: string, options: AttachOptions = {}): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", (err) =>
      reject(new Error(`cannot attach to the console at ${socketPath}: ${err.message}`)),
    );
  });
  const tty = input.isTTY === true;
  if (tty && options.banner !== false)
    process.stderr.write("Connected to the serial console. Escape character is ^]\r\n");
  if (options.replay?.length) output.write(options.replay);
  if (tty) input.setRawMode(true);
  return new Promise<number>((resolve) => {
    const finish = () => {
      input.off("data", onInput);
      if (tty) input.setRawMode(false);
      input.pause();
      socket.destroy();
      resolve(0);
    };
    const onInput = (chunk: Buffer) => {
      const at = tty ? chunk.indexOf(DETACH_BYTE) : -1;
      if (at >= 0) {
        if (at > 0) socket.write(chunk.subarray(0, at));
        finish();
      } else socket.write(chunk);
    };
    input.on("data", onInput);
    input.resume();
    socket.on("data", (chunk) => output.write(chunk));
    socket.on("close", finish);
    socket.on("error", () => {});
    // Piped input that ends (e.g. `echo reboot | … console`) still shows the output until the console closes.
    if (tty) input.once("end", finish);
  });
}
