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

/** A device node the container runtime would put at `containerPath`: the launcher's node at `nodePath`. */
export interface DeviceBind {
  nodePath: string;
  containerPath: string;
}

/**
 * Argv prefix that runs a command in namespace `ns` as uid/gid `id` with no capabilities at all, and, in a
 * private mount namespace, with each of `devices` bind-mounted over its /dev path — what the container
 * runtime does with the device plugin's `host_path`, so the host's own nodes (any mode) are never opened.
 */
export function asUnprivileged(ns: string, devices: readonly DeviceBind[] = [], id = 107): string[] {
  const drop = [
    "setpriv",
    `--reuid=${id}`,
    `--regid=${id}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--bounding-set=-all",
  ];
  if (devices.length === 0) return ["ip", "netns", "exec", ns, ...drop];
  const bindAll =
    'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"';
  return [
    "ip",
    "netns",
    "exec",
    ns,
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    bindAll,
    "sh",
    ...devices.flatMap((d) => [d.nodePath, d.containerPath]),
    "--",
    ...drop,
  ];
}
