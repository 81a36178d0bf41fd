import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BinaryName, resolveBinary } from "./binaries.ts";
import { CommandFailedError, CommandTimeoutError } from "./errors.ts";

/** Output of a finished command. */
export interface CommandResult {
  /** Exit code (0 unless `check: false`). */
  exitCode: number | null;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options for {@link kubectl} and {@link helm}. */
export interface CommandOptions {
  /** Text for standard input (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Kill the command after this long; default 120 s. */
  timeoutMs?: number;
  /** Throw CommandFailedError on a non-zero exit; default true. */
  check?: boolean;
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Directory holding the binaries; default: see binDir(). */
  binDir?: string;
  /**
   * Scratch directory for caches (kubectl's discovery cache, Helm's home); default a per-process directory
   * in the OS temp dir, removed at exit. A control plane passes its own so its caches go away with it.
   */
  scratchDir?: string;
}

/** Runs one of the cached binaries with a deadline; never hangs. */
export async function runBinary(
  name: BinaryName,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const bin = resolveBinary(name, options.binDir);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const child = spawn(bin, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.on("error", () => undefined); // the program may exit without reading its input
  child.stdin.end(options.input ?? "");
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const exitCode = await new Promise<number | null>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolveExit(code));
  }).finally(() => clearTimeout(timer));
  if (timedOut) throw new CommandTimeoutError(name, args, timeoutMs);
  if (exitCode !== 0 && options.check !== false)
    throw new CommandFailedError(name, args, exitCode, stdout, stderr);
  return { exitCode, stdout, stderr };
}

let processScratch: string | undefined;

// Without a control plane's directory, caches go to a per-process directory removed when the process exits.
function scratch(options: CommandOptions): string {
  if (options.scratchDir !== undefined) return options.scratchDir;
  if (processScratch === undefined) {
    const dir = join(tmpdir(), `vireo-test-scratch-${process.pid}`);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    processScratch = dir;
  }
  return processScratch;
}

function kubeconfigFlag(kubeconfigPath: string | undefined): string[] {
  return kubeconfigPath ? [`--kubeconfig=${kubeconfigPath}`] : [];
}

/** Runs the pinned kubectl against `kubeconfigPath`. */
export function kubectl(
  args: readonly string[],
  kubeconfigPath?: string,
  options: CommandOptions = {},
): Promise<CommandResult> {
  const cacheDir = join(scratch(options), "kubectl-cache");
  return runBinary(
    "kubectl",
    [...kubeconfigFlag(kubeconfigPath), `--cache-dir=${cacheDir}`, ...args],
    options,
  );
}

/**
 * Runs the pinned helm against `kubeconfigPath` (omit it for `helm lint`/`template`), with its cache,
 * config and data kept out of $HOME.
 */
export function helm(
  args: readonly string[],
  kubeconfigPath?: string,
  options: CommandOptions = {},
): Promise<CommandResult> {
  const home = join(scratch(options), "helm");
  return runBinary("helm", [...kubeconfigFlag(kubeconfigPath), ...args], {
    ...options,
    env: {
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
      ...options.env,
    },
  });
}
