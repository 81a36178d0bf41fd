/**
 * Getting the source bytes into the scratch space: curl for http(s) (redirects bounded, CA bundle, basic
 * auth through curl's config on stdin so no secret shows in argv), then the checksum of the bytes as served,
 * then xz/gzip decompression. Every failure is a {@link Refusal}; nothing here touches the target.
 */
import { readFile, stat, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ImportSource } from "../crds/importer/config.ts";
import { checksumRefusal, downloadFailure, sniffCompression, type Refusal } from "./decide.ts";
import { decompress, hashFile, lastLine, run } from "./tools.ts";

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

/** Downloads an http source into `scratch`, checks its checksum, and decompresses it. */
export async function fetchHttp(
  src: Extract<ImportSource, { kind: "http" }>,
  scratch: string,
  tuning: FetchTuning,
  onFraction: OnFraction,
): Promise<Fetched | Refusal> {
  const download = join(scratch, "download");
  const headers = join(scratch, "headers");
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
    download,
    "--dump-header",
    headers,
    "--write-out",
    "%{json}",
    ...(src.caFile ? ["--cacert", src.caFile] : []),
    ...(src.credentialsDir ? ["--config", "-"] : []),
    src.url,
  ];
  const input = src.credentialsDir ? await readCredentials(src.credentialsDir) : undefined;
  const timer = setInterval(() => void watchTransfer(download, headers, onFraction), 500);
  let ran;
  try {
    ran = await run("curl", args, input !== undefined ? { input } : {});
  } finally {
    clearInterval(timer);
  }
  let w: { http_code?: number; content_type?: string | null; exitcode?: number } = {};
  try {
    w = JSON.parse(ran.stdout) as typeof w;
  } catch {
    /* curl died before writing its report: the exit code says why */
  }
  const failed = downloadFailure(ran.code, w.http_code ?? 0, src.url);
  if (failed)
    return { ...failed, message: `${failed.message}${ran.stderr ? `: ${lastLine(ran.stderr)}` : ""}` };
  onFraction(1);
  if (src.checksum) {
    const actual = await hashFile(download, src.checksum.algorithm);
    const bad = checksumRefusal(src.checksum.algorithm, src.checksum.hex, actual);
    if (bad) return bad;
  }
  const contentType = w.content_type ?? undefined;
  return unpack(download, join(scratch, "image"), contentType);
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

async function watchTransfer(download: string, headers: string, onFraction: OnFraction): Promise<void> {
  try {
    const text = await readFile(headers, "latin1");
    // The last response's Content-Length (after redirects).
    const lengths = [...text.matchAll(/^content-length:\s*(\d+)/gim)];
    const total = Number(lengths.at(-1)?.[1] ?? NaN);
    const got = (await stat(download)).size;
    onFraction(total > 0 ? got / total : NaN);
  } catch {
    /* not there yet */
  }
}
