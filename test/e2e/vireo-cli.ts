/** The `vireo` CLI as users run it (bin/vireo.js), and a scripted session on `vireo console`. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));

/** Where a command runs: kubeconfig file and namespace. */
export interface CliTarget {
  kubeconfigPath: string;
  namespace: string;
}

/** Runs `vireo <args> -n NS --kubeconfig FILE`; throws with its output on a non-zero exit. */
export async function vireo(target: CliTarget, args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [BIN, ...args, "-n", target.namespace, "--kubeconfig", target.kubeconfigPath],
    { timeout: 120_000 },
  );
  return stdout;
}

// CSI and other escape sequences the guest's line editor sends (cursor queries, colours).
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\r/g;

/**
 * `vireo console VM` with piped stdin/stdout: what a user types is written to the CLI's stdin, and the
 * console's output (recent output first, then live) is collected. Commands run between printf-made markers,
 * as in test/guest/serial-console.ts, so the shell's echo of the typed line never matches them.
 */
export class ConsoleSession {
  #child: ChildProcessWithoutNullStreams;
  #text = "";
  #cursor = 0;
  #seq = 0;
  #exited: Promise<number | null>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (this.#text += d.replace(ESCAPES, "")));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (this.#text += d.replace(ESCAPES, "")));
    this.#exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Starts `vireo console` for the VM. */
  static open(target: CliTarget, vm: string): ConsoleSession {
    const child = spawn(
      process.execPath,
      [BIN, "console", vm, "-n", target.namespace, "--kubeconfig", target.kubeconfigPath],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    return new ConsoleSession(child);
  }

  /** Everything received so far, escape sequences and carriage returns removed. */
  get transcript(): string {
    return this.#text;
  }

  /** Waits for `pattern` after the previous match and moves past it. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.#text.slice(this.#cursor));
      if (m) {
        this.#cursor += m.index + m[0].length;
        return m;
      }
      if (this.#child.exitCode !== null)
        throw new Error(`vireo console exited (${this.#child.exitCode}) before ${pattern}:\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern} on the console:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs one shell command in the guest; returns its exit status and output. */
  async run(command: string, timeoutMs = 60_000): Promise<{ status: number; output: string }> {
    const id = `${process.pid}-${++this.#seq}`;
    const quoted = `'${command.replaceAll("'", `'\\''`)}'`;
    this.#child.stdin.write(
      `printf 'VIREO-%s-%s\\n' BEGIN ${id}; eval ${quoted} </dev/null; printf '\\nVIREO-%s-%s %s\\n' DONE ${id} $?\n`,
    );
    await this.waitFor(new RegExp(`VIREO-BEGIN-${id}\\n`), timeoutMs);
    const start = this.#cursor;
    const done = await this.waitFor(new RegExp(`\\nVIREO-DONE-${id} (\\d+)\\n`), timeoutMs);
    const output = this.#text.slice(start, this.#cursor - done[0].length);
    return { status: Number(done[1]), output };
  }

  /** Ends the session the way piped input ends (EOF), killing the CLI if it lingers. */
  async close(): Promise<number | null> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 15_000);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }

  private tail(): string {
    return this.#text.slice(-600);
  }
}
