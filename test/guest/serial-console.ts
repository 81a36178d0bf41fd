import { appendFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { cleanConsoleText, parseGuestReport, type GuestReport } from "./report.ts";

/** Result of a command run in the guest's console shell. */
export interface GuestCommandResult {
  exitCode: number;
  /** What the command printed (stdout and stderr, carriage returns removed). */
  output: string;
}

/** Options for SerialConsole.connect. */
export interface SerialConsoleOptions {
  /** How long to keep retrying while QEMU has not created the socket yet. */
  connectTimeoutMs?: number;
  /** Append everything received to this file as it arrives (for debugging hung tests). */
  logFile?: string;
}

/** Options for waitFor. */
export interface WaitOptions {
  /** Patterns that end the wait with GuestConsoleError("GUEST_CONSOLE_FAILURE"), e.g. a panic. */
  failOn?: RegExp[];
}

/** Patterns that mean the guest will never get to what a test waits for. */
export const GUEST_FAILURE_PATTERNS: readonly RegExp[] = [
  /Kernel panic - not syncing/,
  /VIREO-GUEST init_error/,
];

type ConsoleErrorCode =
  | "GUEST_CONSOLE_TIMEOUT"
  | "GUEST_CONSOLE_CLOSED"
  | "GUEST_CONSOLE_FAILURE"
  | "GUEST_CONSOLE_CONNECT"
  | "GUEST_CONSOLE_COMMAND";

/** A console wait or command that did not succeed; carries the transcript's tail. */
export class GuestConsoleError extends Error {
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
    readonly transcriptTail: string,
    options?: { cause?: unknown },
  ) {
    super(`${message}\n--- console (last ${transcriptTail.length} chars) ---\n${transcriptTail}`, options);
    this.name = "GuestConsoleError";
  }
}

const TAIL_CHARS = 3000;
// Busybox ash's line editor truncates longer input lines (CONFIG_FEATURE_EDITING_MAX_LEN=1024).
const MAX_COMMAND_LINE = 1000;

/**
 * The guest's serial console, reached through QEMU's `-chardev socket,server=on` unix socket.
 * Keeps a cleaned transcript (escape sequences and carriage returns removed) and a cursor:
 * each waitFor searches only what arrived after the previous match.
 */
export class SerialConsole {
  #socket: Socket;
  #text = "";
  #raw = "";
  #pending = "";
  #cursor = 0;
  #closed = false;
  #waiters = new Set<() => void>();
  #logFile: string | undefined;
  #commands = 0;

  private constructor(socket: Socket, logFile: string | undefined) {
    this.#socket = socket;
    this.#logFile = logFile;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.#receive(chunk));
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on("error", () => {
      // "close" follows and ends pending waits; nothing else to do here.
    });
  }

  /** Connects to a QEMU serial socket, retrying until it exists or the timeout passes. */
  static async connect(path: string, options: SerialConsoleOptions = {}): Promise<SerialConsole> {
    const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        if (options.logFile !== undefined) writeFileSync(options.logFile, "");
        return new SerialConsole(socket, options.logFile);
      } catch (cause) {
        if (Date.now() >= deadline) {
          throw new GuestConsoleError(
            "GUEST_CONSOLE_CONNECT",
            `cannot connect to serial socket ${path}`,
            "",
            {
              cause,
            },
          );
        }
        await sleep(100);
      }
    }
  }

  /** Everything received so far, as the guest sent it. */
  get rawTranscript(): string {
    return this.#raw + this.#pending;
  }

  /** Everything received so far, without escape sequences and carriage returns. */
  get transcript(): string {
    return this.#text;
  }

  /** Whether QEMU closed the socket (it exited or dropped the connection). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Complete lines received so far (cleaned). */
  lines(): string[] {
    const complete = this.#text.slice(0, this.#text.lastIndexOf("\n") + 1);
    return complete.split("\n").slice(0, -1);
  }

  /** The guest's report as received so far. */
  report(): GuestReport {
    return parseGuestReport(this.lines());
  }

  /** Writes the cleaned transcript to a file. */
  saveTranscript(path: string): void {
    writeFileSync(path, this.#text);
  }

  /** Sends raw text to the guest. */
  write(text: string): void {
    if (this.#closed) throw this.#error("GUEST_CONSOLE_CLOSED", "serial console is closed");
    this.#socket.write(text);
  }

  /** Waits for a pattern in the output after the cursor, then moves the cursor past the match. */
  async waitFor(pattern: RegExp, timeoutMs: number, options: WaitOptions = {}): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    const search = new RegExp(pattern.source, pattern.flags.replace("g", ""));
    for (;;) {
      const window = this.#text.slice(this.#cursor);
      const match = search.exec(window);
      if (match !== null) {
        this.#cursor += match.index + match[0].length;
        return match;
      }
      const failure = (options.failOn ?? []).find((p) => p.test(window));
      if (failure !== undefined) {
        throw this.#error("GUEST_CONSOLE_FAILURE", `guest failed (${failure}) while waiting for ${pattern}`);
      }
      if (this.#closed) {
        throw this.#error("GUEST_CONSOLE_CLOSED", `console closed while waiting for ${pattern}`);
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw this.#error("GUEST_CONSOLE_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${pattern}`);
      await this.#nextData(left);
    }
  }

  /** Waits for `VIREO-GUEST ready` (failing fast on a panic or init error) and returns the report. */
  async waitForReady(timeoutMs: number): Promise<GuestReport> {
    await this.waitFor(/^VIREO-GUEST ready\b.*\n/m, timeoutMs, { failOn: [...GUEST_FAILURE_PATTERNS] });
    return this.report();
  }

  /** Waits until the console shell announced itself and is about to read commands. */
  async waitForShell(timeoutMs: number): Promise<void> {
    await this.waitFor(/^VIREO-GUEST shell\b.*\n/m, timeoutMs, { failOn: [...GUEST_FAILURE_PATTERNS] });
  }

  /**
   * Runs one shell command in the guest and returns its exit code and output. The command runs
   * through `eval` with stdin from /dev/null, between two markers the echoed input cannot match;
   * it must not `exit` the shell. Call waitForShell once before the first command.
   */
  async run(command: string, timeoutMs: number): Promise<GuestCommandResult> {
    const id = `${process.pid}-${++this.#commands}`;
    const quoted = `'${command.replaceAll("'", `'\\''`)}'`;
    const line =
      `printf 'VIREO-%s-%s\\n' BEGIN ${id}; eval ${quoted} </dev/null; ` +
      `printf '\\nVIREO-%s-%s %s\\n' DONE ${id} $?\n`;
    if (line.length > MAX_COMMAND_LINE) {
      throw this.#error(
        "GUEST_CONSOLE_COMMAND",
        `command too long for the guest shell (${line.length} chars)`,
      );
    }
    this.write(line);
    const failOn = [...GUEST_FAILURE_PATTERNS];
    await this.waitFor(new RegExp(`^VIREO-BEGIN-${id}\\n`, "m"), timeoutMs, { failOn });
    const start = this.#cursor;
    // The end marker starts with its own newline, so output without a final newline still ends
    // before it; exactly that one newline is not part of the output.
    const done = await this.waitFor(new RegExp(`\\nVIREO-DONE-${id} (\\d+)\\n`), timeoutMs, { failOn });
    const output = this.#text.slice(start, this.#cursor - done[0].length);
    return { exitCode: Number(done[1]), output };
  }

  /** Like run, but throws when the command exits non-zero; returns its output. */
  async check(command: string, timeoutMs: number): Promise<string> {
    const result = await this.run(command, timeoutMs);
    if (result.exitCode !== 0) {
      throw this.#error("GUEST_CONSOLE_COMMAND", `guest command failed with ${result.exitCode}: ${command}`);
    }
    return result.output;
  }

  /** Closes the connection (QEMU keeps running). */
  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: string): void {
    if (this.#logFile !== undefined) appendFileSync(this.#logFile, chunk);
    // An escape sequence may be split across chunks: hold back an unfinished one at the end so the
    // cleaned text only ever grows at its end (the cursor stays valid).
    let data = this.#pending + chunk;
    this.#pending = "";
    const esc = data.lastIndexOf("\x1b");
    // eslint-disable-next-line no-control-regex -- matching ESC is the point
    if (esc >= 0 && data.length - esc < 16 && !/^\x1b(?:\[[0-?]*[ -/]*[@-~]|[^[])/.test(data.slice(esc))) {
      this.#pending = data.slice(esc);
      data = data.slice(0, esc);
    }
    this.#raw += data;
    this.#text += cleanConsoleText(data);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  #nextData(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  #error(code: ConsoleErrorCode, message: string): GuestConsoleError {
    return new GuestConsoleError(code, message, this.#text.slice(-TAIL_CHARS));
  }
}
