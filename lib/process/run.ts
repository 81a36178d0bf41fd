/**
 * The one child-process helper: run a program to completion with bounded output and time, and get its exit
 * code and output. Launcher (storage tools, iproute2/nft), device plugin (mknod) and `vireo run` (ip netns)
 * run their programs through it.
 */
import { spawn } from "node:child_process";

/** What a finished program left behind. */
export interface RunResult {
  /** null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to run it. */
export interface RunOptions {
  /** Written to its stdin (closed at once otherwise). */
  input?: string;
  /** Killed (SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Most characters of stdout and of stderr kept; default 1 MiB (a damaged image makes qemu-img print without end). */
  maxOutputChars?: number;
  env?: NodeJS.ProcessEnv;
  /** The command as error messages show it (default argv; e.g. without a prlimit wrapper). */
  shown?: readonly string[];
}

/** A program could not be started, did not finish in time, or (with {@link runChecked}) failed. */
export class ProgramError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "PROGRAM_FAILED";
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The program's result when it ran to the end. */
    readonly result?: RunResult,
  ) {
    super(message, options);
    this.name = "ProgramError";
  }

  /** What the program wrote to stderr, when it ran. */
  get stderr(): string | undefined {
    return this.result?.stderr;
  }
}

/** Default cap on each of stdout and stderr. */
export const MAX_OUTPUT_CHARS = 1 << 20;

/**
 * Runs `argv` to completion. A non-zero exit is a result, not an error: the caller decides what it means
 * (qemu-img check uses 2 and 3 for findings). Throws {@link ProgramError} when it cannot start or times out.
 */
export async function runProgram(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const shown = o.shown ?? argv;
  const timeoutMs = o.timeoutMs ?? 600_000;
  const max = o.maxOutputChars ?? MAX_OUTPUT_CHARS;
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: [o.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
    ...(o.env ? { env: o.env } : {}),
  });
  let stdout = "";
  let stderr = "";
  const keep = (so: string, c: string) => (so.length < max ? so + c.slice(0, max - so.length) : so);
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout = keep(stdout, c)));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr = keep(stderr, c)));
  if (child.stdin) {
    child.stdin.on("error", () => undefined); // a program that exits without reading its input
    child.stdin.end(o.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, sig) => resolve([code, sig]));
      },
    );
    if (timedOut) throw new ProgramError(`${shown.join(" ")}: no result after ${timeoutMs} ms`);
    return { exitCode, signal, stdout, stderr };
  } catch (err) {
    if (err instanceof ProgramError) throw err;
    throw new ProgramError(`${shown[0]}: cannot run it (${(err as Error).message})`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link runProgram}, but anything other than exit 0 is a {@link ProgramError} with its stderr; returns stdout. */
export async function runChecked(argv: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await runProgram(argv, o);
  if (r.exitCode === 0) return r.stdout;
  const how = r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`;
  throw new ProgramError(
    `${(o.shown ?? argv).join(" ")} failed (${how})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}`,
    {},
    r,
  );
}
