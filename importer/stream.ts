/**
 * The download as one pass: curl writes the body to a pipe; on its way to the scratch file each chunk is
 * hashed (the checksum of the bytes as served) and, when the first bytes say xz or gzip, decompressed by
 * Debian's xz/gzip reading the same pipe. Before, the body went to a file that was then read again to hash
 * it and again to decompress it: two passes more over every byte before qemu-img saw it. The order of the
 * judgments stays: curl's outcome, then the checksum, then the decompressor's — the target is untouched.
 */
import { spawn } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sniffCompression } from "./decide.ts";

/** What came through the pipe. */
export interface Streamed {
  /** Bytes as served (before decompression). */
  bytes: number;
  compression: "xz" | "gzip" | "none";
  /** Hex digest of the bytes as served, when asked for. */
  digest?: string;
  /** The decompressor failed (truncated or not really xz/gzip): its last stderr line. */
  decompressError?: string;
  /** Writing the scratch file failed (no space?). */
  writeError?: string;
}

const MAX_STDERR = 8192;

/** Reads `body` to its end into `out`, hashing with `algorithm` and decompressing as its magic says. */
export async function streamBody(
  body: Readable,
  out: string,
  algorithm: "sha256" | "sha512" | undefined,
  onBytes: (bytes: number) => void,
): Promise<Streamed> {
  const hash: Hash | undefined = algorithm ? createHash(algorithm) : undefined;
  const iter = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  // Enough of the start to know the compression (xz's magic is 6 bytes).
  while (headBytes < 8) {
    const n = await iter.next();
    if (n.done) {
      ended = true;
      break;
    }
    first.push(n.value);
    headBytes += n.value.length;
  }
  const compression = sniffCompression(Buffer.concat(first).subarray(0, 8));
  let bytes = 0;
  const seen = (c: Buffer) => {
    hash?.update(c);
    bytes += c.length;
    onBytes(bytes);
    return c;
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const c of first) yield seen(c);
    while (!ended) {
      const n = await iter.next();
      if (n.done) return;
      yield seen(n.value);
    }
  }
  const result = (extra: Partial<Streamed>): Streamed => ({
    bytes,
    compression,
    ...(hash ? { digest: hash.digest("hex") } : {}),
    ...extra,
  });
  if (compression === "none") {
    try {
      await pipeline(chunks(), createWriteStream(out));
      return result({});
    } catch (err) {
      await drain(iter);
      return result({ writeError: (err as Error).message });
    }
  }
  const child = spawn(compression, ["-dc"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-MAX_STDERR)));
  const closed = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  const written = pipeline(child.stdout, createWriteStream(out)).then(
    () => undefined,
    (err: Error) => err.message,
  );
  // A decompressor that gives up early closes its stdin (EPIPE): read the rest so the hash and curl finish.
  const fed = pipeline(chunks(), child.stdin).then(
    () => undefined,
    async () => void (await drain(iter)),
  );
  child.on("error", () => {});
  const [code, writeError] = await Promise.all([closed, written, fed]);
  const line = stderr.trim().split("\n").at(-1) ?? "";
  return result({
    ...(code !== 0 ? { decompressError: line || `${compression} exited ${code}` } : {}),
    ...(writeError && code === 0 ? { writeError } : {}),
  });
}

async function drain(iter: AsyncIterator<Buffer>): Promise<void> {
  try {
    for (let n = await iter.next(); !n.done; n = await iter.next());
  } catch {
    /* the body ended badly: curl's exit says how */
  }
}
