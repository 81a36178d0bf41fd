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

/**
 * Runs a program to completion and returns its exit code and output; the caller decides what an exit code
 * means (qemu-img check uses 2 and 3 for findings). Kills the program after `timeoutMs`.
 */
export async function runProgram(
  file: string,
  args: readonly string[],
  timeoutMs = 600_000,
): Promise<RunResult> {
  const child = spawn(file, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_ALL: "C" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
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
