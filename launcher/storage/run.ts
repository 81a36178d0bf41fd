import { spawn } from "node:child_process";

/** What a finished program left behind. */
export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A program could not be started or did not finish in time. */
export class ProgramError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "ProgramFailed";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProgramError";
  }
}

/** Most bytes of a program's stdout or stderr kept (a damaged image makes qemu-img print without end). */
export const MAX_OUTPUT_CHARS = 1 << 20;

/** Kernel resource limits for a program (setrlimit through util-linux `prlimit`). */
export interface ProgramLimits {
  /** RLIMIT_AS: address space, bytes. */
  addressSpaceBytes: number;
  /** RLIMIT_CPU: CPU time, seconds. */
  cpuSeconds: number;
}

/** The argv that runs `file args` under `limits` (prlimit sets them on itself, then execs the program). */
export function limitedArgv(file: string, args: readonly string[], limits?: ProgramLimits): string[] {
  if (!limits) return [file, ...args];
  return ["prlimit", `--as=${limits.addressSpaceBytes}`, `--cpu=${limits.cpuSeconds}`, "--", file, ...args];
}

/**
 * Runs a program to completion and returns its exit code and output; the caller decides what an exit code
 * means (qemu-img check uses 2 and 3 for findings). Kills the program after `timeoutMs`; with `limits`,
 * the kernel also stops it at that much memory or CPU time. Output is kept up to {@link MAX_OUTPUT_CHARS}.
 */
export async function runProgram(
  file: string,
  args: readonly string[],
  timeoutMs = 600_000,
  limits?: ProgramLimits,
): Promise<RunResult> {
  const [bin, ...argv] = limitedArgv(file, args, limits);
  const child = spawn(bin!, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_ALL: "C" },
  });
  let stdout = "";
  let stderr = "";
  const keep = (so: string, c: string) =>
    so.length < MAX_OUTPUT_CHARS ? so + c.slice(0, MAX_OUTPUT_CHARS - so.length) : so;
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout = keep(stdout, c)));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr = keep(stderr, c)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve(code));
    });
    if (timedOut) throw new ProgramError(`${file} ${args.join(" ")}: no result after ${timeoutMs} ms`);
    return { exitCode, stdout, stderr };
  } catch (err) {
    if (err instanceof ProgramError) throw err;
    throw new ProgramError(`${file}: cannot run it (${(err as Error).message})`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
