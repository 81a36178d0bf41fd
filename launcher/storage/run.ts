/** The storage tools (qemu-img, xorriso) as child processes, under kernel resource limits. */
import { runProgram as run, type RunResult } from "../../lib/process/run.ts";

export { MAX_OUTPUT_CHARS, ProgramError, type RunResult } from "../../lib/process/run.ts";

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
 * The child-process plumbing is lib/process/run.ts's.
 */
export function runProgram(
  file: string,
  args: readonly string[],
  timeoutMs = 600_000,
  limits?: ProgramLimits,
): Promise<RunResult> {
  return run(limitedArgv(file, args, limits), {
    timeoutMs,
    env: { ...process.env, LC_ALL: "C" },
    shown: [file, ...args],
  });
}
