/** The programs the importer drives (qemu-img, curl, xz, gzip), behind one small spawn helper. */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { QemuCheck, QemuInfo } from "./decide.ts";

/** What a finished program left. */
export interface Ran {
  code: number;
  stdout: string;
  /** The last lines of stderr (bounded: a hostile image must not make us buffer without end). */
  stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  /** Called with each chunk of stdout (progress parsing). */
  onStdout?: (chunk: string) => void;
  /** Cap on kept stdout bytes. */
  maxStdout?: number;
}

const MAX_STDERR = 8192;

/** Runs a program without a shell; resolves with its exit code (a signal or timeout reads as 128+). */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [o.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const max = o.maxStdout ?? 1 << 20;
    child.stdout!.setEncoding("utf8").on("data", (c: string) => {
      o.onStdout?.(c);
      if (stdout.length < max) stdout += c.slice(0, max - stdout.length);
    });
    child.stderr!.setEncoding("utf8").on("data", (c: string) => {
      stderr = (stderr + c).slice(-MAX_STDERR);
    });
    const timer = o.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), o.timeoutMs) : undefined;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal === "SIGKILL" ? 9 : 15), stdout, stderr: stderr.trim() });
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}

/** qemu-img info can be made to chew on a hostile header: bound it in time (CDI bounds it too). */
const INSPECT_TIMEOUT_MS = 120_000;

/** `qemu-img info` (probing the format; never opens a backing file, it only reports its name). */
export async function qemuInfo(path: string): Promise<QemuInfo | { error: string }> {
  const r = await run("qemu-img", ["info", "--output=json", path], { timeoutMs: INSPECT_TIMEOUT_MS });
  if (r.code !== 0) return { error: lastLine(r.stderr) || `qemu-img info exited ${r.code}` };
  return JSON.parse(r.stdout) as QemuInfo;
}

/** `qemu-img check` of a qcow2 (exit 2/3 mean corruptions/leaks, reported in the JSON). */
export async function qemuCheck(path: string): Promise<QemuCheck | undefined> {
  const r = await run("qemu-img", ["check", "--output=json", "-f", "qcow2", path], {
    timeoutMs: INSPECT_TIMEOUT_MS,
  });
  try {
    return JSON.parse(r.stdout) as QemuCheck;
  } catch {
    return undefined;
  }
}

/** The last non-empty line of a program's stderr. */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

/** Hashes a file (sha256/sha512) with node:crypto. */
export async function hashFile(path: string, algorithm: "sha256" | "sha512"): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(path), h);
  return h.digest("hex");
}

/** Decompresses `src` into `dst` with xz or gzip (Debian's, streaming; a truncated stream fails). */
export async function decompress(kind: "xz" | "gzip", src: string, dst: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(kind, ["-dc", src], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-MAX_STDERR)));
    const out = createWriteStream(dst);
    const piped = pipeline(child.stdout!, out);
    child.on("error", reject);
    child.on("close", (code) => {
      piped.then(
        () => resolve({ code: code ?? 1, stdout: "", stderr: stderr.trim() }),
        (err: Error) => resolve({ code: code || 1, stdout: "", stderr: err.message }),
      );
    });
  });
}
