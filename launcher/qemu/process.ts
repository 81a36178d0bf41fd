import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

/** How QEMU ended. */
export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running QEMU child: its pid, how it ends, and the tail of what it wrote to stderr. */
export interface QemuProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Resolves once QEMU has exited. */
  readonly exited: Promise<QemuExit>;
  /** Set once QEMU has exited. */
  readonly exit: QemuExit | undefined;
  /** The last lines QEMU wrote to stderr (its error messages), oldest first. */
  stderrTail(): string[];
  /** Sends a signal by pid; a no-op once it has exited. */
  kill(signal: NodeJS.Signals): void;
  /** QEMU's stdin and stdout, only with `stdio: "qmp"` (for `-qmp stdio`). */
  readonly stdin: Writable | undefined;
  readonly stdout: Readable | undefined;
}

/** Options for starting QEMU. */
export interface SpawnQemuOptions {
  /** The QEMU binary (default: qemu-system-x86_64 from PATH). */
  binary?: string;
  /** Called for every stderr line as it arrives (the launcher logs them). */
  onStderrLine?: (line: string) => void;
  /** How many stderr lines to keep for the termination message. */
  keepLines?: number;
  /** A command QEMU runs under that execs it in place (e.g. `ip netns exec NS`), so the pid stays QEMU's. */
  wrapper?: readonly string[];
  /** `qmp`: keep stdin and stdout as pipes for `-qmp stdio` (the KVM probe); default: closed. */
  stdio?: "quiet" | "qmp";
}

/** Thrown when QEMU could not be started at all (binary missing, not executable). */
export class QemuSpawnError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "QEMU_SPAWN_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QemuSpawnError";
  }
}

/** The QEMU binary: $VIREO_QEMU when set, else qemu-system-x86_64 from PATH. */
export const QEMU_BINARY = process.env.VIREO_QEMU ?? "qemu-system-x86_64";

// setpriv --pdeathsig makes the kernel kill QEMU when the launcher dies without stopping it (OOM kill,
// SIGKILL): a guest must never outlive the process that supervises it and owns its sockets.
const PDEATHSIG = existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] : [];

/** Longest stderr line kept or logged, in characters. */
const MAX_STDERR_LINE = 4096;

/** Starts QEMU as a child process (stderr captured; stdin and stdout closed unless `stdio: "qmp"`). */
export async function spawnQemu(
  args: readonly string[],
  options: SpawnQemuOptions = {},
): Promise<QemuProcess> {
  const binary = options.binary ?? QEMU_BINARY;
  const argv = [...PDEATHSIG, ...(options.wrapper ?? []), binary, ...args];
  const keep = options.keepLines ?? 40;
  const pipes = options.stdio === "qmp";
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: [pipes ? "pipe" : "ignore", pipes ? "pipe" : "ignore", "pipe"],
  });
  const tail: string[] = [];
  let partial = "";
  const push = (line: string) => {
    if (!line) return;
    tail.push(line);
    if (tail.length > keep) tail.shift();
    options.onStderrLine?.(line);
  };
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    // A line that never ends (the guest can make QEMU print what it likes) is cut, not kept growing.
    if (partial.length > MAX_STDERR_LINE) {
      lines.push(`${partial.slice(0, MAX_STDERR_LINE)} …(cut)`);
      partial = "";
    }
    lines
      .map((l) => (l.length > MAX_STDERR_LINE ? `${l.slice(0, MAX_STDERR_LINE)} …(cut)` : l))
      .forEach(push);
  });
  let exit: QemuExit | undefined;
  const exited = new Promise<QemuExit>((resolve) => {
    // "close" (not "exit") so the last stderr lines are in the tail when this resolves.
    child.once("close", (code, signal) => {
      push(partial);
      partial = "";
      exit = { code, signal };
      resolve(exit);
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (cause) =>
      reject(new QemuSpawnError(`cannot start ${binary}: ${cause.message}`, { cause })),
    );
  });
  const pid = child.pid!;
  return {
    pid,
    argv: [binary, ...args],
    exited,
    get exit() {
      return exit;
    },
    stderrTail: () => [...tail],
    stdin: child.stdin ?? undefined,
    stdout: child.stdout ?? undefined,
    kill(signal) {
      if (exit) return;
      try {
        process.kill(pid, signal);
      } catch {
        // Exited between the check and the signal.
      }
    },
  };
}
