/** Child processes for the network tests: run-to-end commands, background processes killed by pid. */
import { execFile, spawn } from "node:child_process";

/** Runs a command and returns stdout; throws with stderr on failure. */
export function sh(argv: readonly string[], input?: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.join(" ")}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve(stdout);
      },
    );
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}

/** A background process a test started; stopped by pid. */
export interface TestProcess {
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Starts a background process; its output is collected. */
export function startProcess(argv: readonly string[]): TestProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-65_536)));
  child.stderr.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-65_536)));
  const exited = new Promise<number | null>((resolve) => {
    // "close" rather than "exit": by then everything the process wrote has been read.
    child.once("close", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  if (child.pid === undefined) throw new Error(`cannot start ${argv[0]}`);
  const pid = child.pid;
  return {
    pid,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        return;
      }
      await exited;
    },
  };
}

/** Argv prefix that runs a command in namespace `ns` as uid/gid `id` with no capabilities at all. */
export function asUnprivileged(ns: string, id = 107): string[] {
  return [
    "ip",
    "netns",
    "exec",
    ns,
    "setpriv",
    `--reuid=${id}`,
    `--regid=${id}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--bounding-set=-all",
  ];
}
