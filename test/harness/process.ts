import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** How a component process ended. */
export interface ExitInfo {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
}

/** A long-running component (etcd, kube-apiserver) whose output goes to a log file. */
export interface ComponentProcess {
  /** Component name used in errors. */
  readonly name: string;
  /** Process id. */
  readonly pid: number;
  /** Its log file (stdout and stderr). */
  readonly logPath: string;
  /** Set once the process has exited. */
  readonly exit: ExitInfo | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

// setpriv --pdeathsig makes the kernel kill the component when the test process dies without running its
// teardown (a crashed or killed vitest worker), so a control plane is never leaked between runs.
const pdeathsigWrapper = existsSync("/usr/bin/setpriv")
  ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"]
  : [];

/** Starts `bin args` with stdout and stderr appended to `logPath`. */
export function startComponent(
  name: string,
  bin: string,
  args: readonly string[],
  logPath: string,
): ComponentProcess {
  const fd = openSync(logPath, "a");
  const argv = [...pdeathsigWrapper, bin, ...args];
  let child: ChildProcess;
  try {
    child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
    child.once("error", () => {
      exit ??= { code: null, signal: null };
      resolveExit(exit);
    });
  });
  const pid = child.pid ?? -1;
  return {
    name,
    pid,
    logPath,
    get exit() {
      return exit;
    },
    exited,
    async stop(graceMs = 10_000) {
      if (exit !== undefined || pid < 0) return;
      signal(pid, "SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (done) return;
      signal(pid, "SIGKILL");
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: it exited between our check and the signal, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** Describes an exit for humans, e.g. "exit code 1" or "signal SIGKILL". */
export function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? "?"}`;
}

/** The last `lines` lines of a log file ("" when it cannot be read). */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
