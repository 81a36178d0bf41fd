/**
 * Getting the source bytes into the scratch space: curl for http(s) (redirects bounded, CA bundle, basic
 * auth through curl's config on stdin so no secret shows in argv), then the checksum of the bytes as served,
 * then xz/gzip decompression. Every failure is a {@link Refusal}; nothing here touches the target.
 */
import { spawn } from "node:child_process";
import { readFile, stat, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ImportSource } from "../crds/importer/config.ts";
import { checksumRefusal, downloadFailure, sniffCompression, type Refusal } from "./decide.ts";
import { decompress, lastLine } from "./tools.ts";
import { streamBody } from "./stream.ts";

/** A local file ready for qemu-img. */
export interface Fetched {
  ok: true;
  path: string;
  bytes: number;
  head: Uint8Array;
  contentType?: string;
}

/** Reports the transfer's fraction done (0..1; NaN when the size is unknown). */
export type OnFraction = (fraction: number) => void;

/** Tuning the tests shrink. */
export interface FetchTuning {
  /** A transfer slower than 1 byte/s for this long is given up (a server that accepts and never answers). */
  stallSeconds: number;
  connectTimeoutSeconds: number;
  maxRedirects: number;
}

/** Defaults for a real cluster. */
export const DEFAULT_TUNING: FetchTuning = { stallSeconds: 120, connectTimeoutSeconds: 30, maxRedirects: 10 };

/** The first bytes of a file. */
export async function headOf(path: string, n = 4096): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readCredentials(dir: string): Promise<string> {
  const id = (await readFile(join(dir, "accessKeyId"), "utf8")).trim();
  const secret = (await readFile(join(dir, "secretKey"), "utf8")).trim();
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return `user = ${q(`${id}:${secret}`)}\n`;
}

/** Marks curl's --write-out report on stderr, apart from its error messages. */
const REPORT = "VIREO-CURL ";

/**
 * Downloads an http source into `scratch` in one pass (stream.ts: hashed and decompressed on the way), then
 * judges curl's outcome, the checksum and the decompression, in that order.
 */
export async function fetchHttp(
  src: Extract<ImportSource, { kind: "http" }>,
  scratch: string,
  tuning: FetchTuning,
  onFraction: OnFraction,
): Promise<Fetched | Refusal> {
  const headers = join(scratch, "headers");
  const image = join(scratch, "image");
  const args = [
    "--silent",
    "--show-error",
    "--location",
    "--max-redirs",
    String(tuning.maxRedirects),
    "--proto",
    "=http,https",
    "--proto-redir",
    "=http,https",
    "--connect-timeout",
    String(tuning.connectTimeoutSeconds),
    "--speed-limit",
    "1",
    "--speed-time",
    String(tuning.stallSeconds),
    "--output",
    "-",
    "--dump-header",
    headers,
    "--write-out",
    `%{stderr}\n${REPORT}%{json}\n`,
    ...(src.caFile ? ["--cacert", src.caFile] : []),
    ...(src.credentialsDir ? ["--config", "-"] : []),
    src.url,
  ];
  const input = src.credentialsDir ? await readCredentials(src.credentialsDir) : undefined;
  const curl = spawn("curl", args, { stdio: [input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
  let stderr = "";
  curl.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-16384)));
  const exited = new Promise<number>((resolve, reject) => {
    curl.on("error", reject);
    curl.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
  if (input !== undefined) curl.stdin!.end(input);
  let got = 0;
  const timer = setInterval(() => void watchTransfer(headers, got, onFraction), 500);
  let streamed;
  let code;
  try {
    streamed = await streamBody(curl.stdout!, image, src.checksum?.algorithm, (n) => (got = n));
    code = await exited;
  } finally {
    clearInterval(timer);
  }
  const lines = stderr.split("\n");
  const reportLine = lines.find((l) => l.startsWith(REPORT));
  let w: { http_code?: number; content_type?: string | null } = {};
  try {
    w = JSON.parse(reportLine?.slice(REPORT.length) ?? "") as typeof w;
  } catch {
    /* curl died before writing its report: the exit code says why */
  }
  const errors = lines.filter((l) => l.trim() && !l.startsWith(REPORT)).join("\n");
  const failed = downloadFailure(code, w.http_code ?? 0, src.url);
  if (failed) return { ...failed, message: `${failed.message}${errors ? `: ${lastLine(errors)}` : ""}` };
  onFraction(1);
  if (src.checksum) {
    const bad = checksumRefusal(src.checksum.algorithm, src.checksum.hex, streamed.digest ?? "");
    if (bad) return bad;
  }
  if (streamed.decompressError)
    return {
      ok: false,
      reason: "NotAnImage",
      message: `${streamed.compression} could not decompress it: ${streamed.decompressError}`,
    };
  if (streamed.writeError)
    return {
      ok: false,
      reason: "DownloadFailed",
      message: `writing the scratch file: ${streamed.writeError}`,
    };
  const contentType = w.content_type ?? undefined;
  const bytes = (await stat(image)).size;
  return { ok: true, path: image, bytes, head: await headOf(image), ...(contentType ? { contentType } : {}) };
}

/** Decompresses `file` when its magic says xz or gzip (removing it if `owned`); qemu-img reads the result. */
export async function unpack(
  file: string,
  out: string,
  contentType?: string,
  owned = true,
): Promise<Fetched | Refusal> {
  const kind = sniffCompression(await headOf(file, 8));
  let path = file;
  if (kind !== "none") {
    const r = await decompress(kind, file, out);
    if (r.code !== 0)
      return {
        ok: false,
        reason: "NotAnImage",
        message: `${kind} could not decompress it: ${lastLine(r.stderr)}`,
      };
    if (owned) await rm(file, { force: true });
    path = out;
  }
  const bytes = (await stat(path)).size;
  return { ok: true, path, bytes, head: await headOf(path), ...(contentType ? { contentType } : {}) };
}

async function watchTransfer(headers: string, got: number, onFraction: OnFraction): Promise<void> {
  try {
    const text = await readFile(headers, "latin1");
    // The last response's Content-Length (after redirects).
    const lengths = [...text.matchAll(/^content-length:\s*(\d+)/gim)];
    const total = Number(lengths.at(-1)?.[1] ?? NaN);
    onFraction(total > 0 ? got / total : NaN);
  } catch {
    /* not there yet */
  }
}
