// The real importer (curl, xz, gzip, qemu-img from Debian) against a loopback HTTP server this test runs:
// good images land as disk.img sized to the claim; every bad input fails with its reason and leaves the
// claim's previous disk.img byte for byte as it was, and no partial file behind.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { createServer, request, type Server, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  importerConfigSchema,
  type ImporterConfigInput,
  type ImportResult,
} from "../../crds/importer/config.ts";
import { filesystemDiskBytes } from "../../importer/decide.ts";
import { DEFAULT_TUNING } from "../../importer/fetch.ts";
import { startImporter } from "../../importer/server.ts";
import { PARTIAL_FILE } from "../../importer/write.ts";
import { sendImage } from "../../cli/upload/send.ts";

const MiB = 2 ** 20;
const CLAIM = 64 * MiB;
let dir: string;
let server: Server;
let base: string;
const files = new Map<string, { body: Buffer; type?: string }>();
const sha = (b: Buffer | string, alg = "sha256") => createHash(alg).update(b).digest("hex");
const qemuImg = (...args: string[]) => execFileSync("qemu-img", args, { stdio: "pipe" }).toString();

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? "/";
  if (url === "/loop") return void res.writeHead(302, { location: "/loop" }).end();
  if (url === "/500") return void res.writeHead(500).end("oops");
  if (url === "/silent") return; // accepts, never answers
  if (url === "/cut.raw") {
    // Promises 16 MiB, sends 1 MiB and hangs up: the body streamed so far must not become a disk.
    res.writeHead(200, { "content-length": 16 * MiB, "content-type": "application/octet-stream" });
    return void res.write(Buffer.alloc(MiB, 7), () => res.destroy());
  }
  if (
    url === "/auth.raw" &&
    req.headers.authorization !== `Basic ${Buffer.from("ann:s3cret").toString("base64")}`
  )
    return void res.writeHead(401).end();
  const f = files.get(url === "/auth.raw" ? "/good.raw" : url);
  if (!f) return void res.writeHead(404, { "content-type": "text/html" }).end("<html>not found</html>");
  res.writeHead(200, {
    "content-type": f.type ?? "application/octet-stream",
    "content-length": f.body.length,
  });
  res.end(f.body);
}

/** A raw disk of `mib` MiB whose first 4 MiB are a recognisable pattern. */
function pattern(mib: number): Buffer {
  const b = Buffer.alloc(mib * MiB);
  for (let i = 0; i < 4 * MiB; i += 4) b.writeUInt32LE(i ^ 0x5a5a5a5a, i);
  return b;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vireo-importer-"));
  const raw = pattern(16);
  writeFileSync(join(dir, "good.raw"), raw);
  qemuImg("convert", "-f", "raw", "-O", "qcow2", join(dir, "good.raw"), join(dir, "good.qcow2"));
  const qcow2 = readFileSync(join(dir, "good.qcow2"));
  execFileSync("sh", [
    "-c",
    `xz -T1 -0 -k -c ${dir}/good.qcow2 > ${dir}/good.qcow2.xz && gzip -1 -c ${dir}/good.raw > ${dir}/good.raw.gz`,
  ]);
  qemuImg("create", "-f", "qcow2", "-u", "-b", "/etc/passwd", "-F", "raw", join(dir, "backing.qcow2"), "16M");
  qemuImg("create", "-f", "raw", join(dir, "huge.raw"), "128M");
  files.set("/good.raw", { body: raw });
  files.set("/good.qcow2", { body: qcow2 });
  files.set("/good.qcow2.xz", { body: readFileSync(join(dir, "good.qcow2.xz")) });
  files.set("/good.raw.gz", { body: readFileSync(join(dir, "good.raw.gz")) });
  const xz = files.get("/good.qcow2.xz")!.body;
  files.set("/trunc.qcow2.xz", { body: xz.subarray(0, Math.floor(xz.length / 2)) });
  files.set("/trunc.qcow2", { body: qcow2.subarray(0, Math.floor(qcow2.length / 2)) });
  files.set("/backing.qcow2", { body: readFileSync(join(dir, "backing.qcow2")) });
  files.set("/huge.raw", { body: readFileSync(join(dir, "huge.raw")) });
  files.set("/page.html", {
    body: Buffer.from("<!DOCTYPE html><html><body>Sign in</body></html>\n".padEnd(1024)),
    type: "text/html",
  });
  server = createServer(route);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh "claim" directory holding a previous disk.img, and a scratch directory. */
function claim(previous = true): { dir: string; scratch: string; before?: string } {
  const d = join(dir, `claim-${++n}`);
  mkdirSync(d);
  if (!previous) return { dir: d, scratch: join(dir, `scratch-${n}`) };
  const old = Buffer.alloc(MiB, 0x42);
  writeFileSync(join(d, "disk.img"), old);
  return { dir: d, scratch: join(dir, `scratch-${n}`), before: sha(old) };
}

const tuning = { ...DEFAULT_TUNING, stallSeconds: 3, connectTimeoutSeconds: 5, maxRedirects: 5 };

async function importInto(
  c: { dir: string; scratch: string },
  source: ImporterConfigInput["source"],
  format: "raw" | "qcow2" = "raw",
): Promise<ImportResult> {
  const cfg = importerConfigSchema.parse({
    version: "v1",
    source,
    target: { kind: "filesystem", dir: c.dir, capacityBytes: CLAIM, format },
    scratchDir: c.scratch,
    progressPort: 0,
  });
  const imp = await startImporter(cfg, tuning);
  try {
    return await imp.result;
  } finally {
    await imp.close();
  }
}

const rawSha = () => sha(files.get("/good.raw")!.body);
/** The first 16 MiB of a disk as raw, hashed (what the guest would read). */
function guestView(path: string, format: string): string {
  const out = join(dir, `view-${++n}.raw`);
  qemuImg("convert", "-f", format, "-O", "raw", path, out);
  const b = readFileSync(out).subarray(0, 16 * MiB);
  rmSync(out);
  return sha(b);
}

describe("good images", () => {
  it.each([
    ["raw", "/good.raw", undefined],
    ["qcow2", "/good.qcow2", undefined],
    ["qcow2.xz with sha256", "/good.qcow2.xz", "sha256"],
    ["raw.gz with sha512", "/good.raw.gz", "sha512"],
  ] as const)("%s becomes a raw disk.img the size of the claim", async (_, path, alg) => {
    const c = claim();
    const checksum = alg ? { algorithm: alg, hex: sha(files.get(path)!.body, alg) } : undefined;
    const r = await importInto(c, { kind: "http", url: base + path, ...(checksum ? { checksum } : {}) });
    expect(r).toMatchObject({ result: "Succeeded", virtualSizeBytes: 16 * MiB });
    const disk = join(c.dir, "disk.img");
    expect(JSON.parse(qemuImg("info", "--output=json", disk))).toMatchObject({
      format: "raw",
      "virtual-size": filesystemDiskBytes(CLAIM),
    });
    expect(guestView(disk, "raw")).toBe(rawSha());
    expect(existsSync(join(c.dir, PARTIAL_FILE))).toBe(false);
    expect(existsSync(c.scratch)).toBe(false);
  });

  it("keeps qcow2 when the claim declares qcow2", async () => {
    const c = claim(false);
    const r = await importInto(c, { kind: "http", url: base + "/good.qcow2.xz" }, "qcow2");
    expect(r.result).toBe("Succeeded");
    const info = JSON.parse(qemuImg("info", "--output=json", join(c.dir, "disk.img")));
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": filesystemDiskBytes(CLAIM) });
    expect(guestView(join(c.dir, "disk.img"), "qcow2")).toBe(rawSha());
  });

  it("sends basic-auth credentials from the Secret's files", async () => {
    const c = claim(false);
    const creds = join(dir, "creds");
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, "accessKeyId"), "ann\n");
    writeFileSync(join(creds, "secretKey"), "s3cret\n");
    expect((await importInto(c, { kind: "http", url: base + "/auth.raw" })).result).toBe("Failed");
    const r = await importInto(claim(false), {
      kind: "http",
      url: base + "/auth.raw",
      credentialsDir: creds,
    });
    expect(r.result).toBe("Succeeded");
  });

  it("creates a blank disk of the claim's size", async () => {
    const c = claim(false);
    expect((await importInto(c, { kind: "blank" })).result).toBe("Succeeded");
    expect(statSync(join(c.dir, "disk.img")).size).toBe(filesystemDiskBytes(CLAIM));
  });

  it("writes a Block target (a file standing in for the device) from a qcow2", async () => {
    const dev = join(dir, "block.dev");
    writeFileSync(dev, Buffer.alloc(32 * MiB));
    const cfg = importerConfigSchema.parse({
      version: "v1",
      source: { kind: "http", url: base + "/good.qcow2" },
      target: { kind: "block", devicePath: dev },
      scratchDir: join(dir, "scratch-block"),
      progressPort: 0,
    });
    const imp = await startImporter(cfg, tuning);
    expect((await imp.result).result).toBe("Succeeded");
    await imp.close();
    expect(sha(readFileSync(dev).subarray(0, 16 * MiB))).toBe(rawSha());
  });
});

describe("bad input leaves the previous disk untouched", () => {
  const sha256 = (p: string) => sha(files.get(p)!.body);
  it.each([
    ["an HTML page", { url: "/page.html" }, "NotAnImage"],
    ["a truncated qcow2", { url: "/trunc.qcow2" }, "TruncatedImage"],
    [
      "a wrong checksum",
      { url: "/good.raw", checksum: { algorithm: "sha256", hex: "0".repeat(64) } },
      "ChecksumMismatch",
    ],
    [
      "a checksum of another file",
      { url: "/good.qcow2", checksum: { algorithm: "sha256", hex: "<raw>" } },
      "ChecksumMismatch",
    ],
    ["a truncated xz (decompressed as it streams in)", { url: "/trunc.qcow2.xz" }, "NotAnImage"],
    [
      "a wrong checksum of an xz (the bytes as served are hashed)",
      { url: "/good.qcow2.xz", checksum: { algorithm: "sha256", hex: "<raw>" } },
      "ChecksumMismatch",
    ],
    ["a body cut short by the server", { url: "/cut.raw" }, "DownloadFailed"],
    ["an image larger than the claim", { url: "/huge.raw" }, "ImageTooLarge"],
    ["404", { url: "/missing.raw" }, "HttpError"],
    ["500", { url: "/500" }, "HttpError"],
    ["a server that never answers", { url: "/silent" }, "Unreachable"],
    ["a closed port", { url: "closed" }, "Unreachable"],
    ["a redirect loop", { url: "/loop" }, "TooManyRedirects"],
    ["a qcow2 with a backing file", { url: "/backing.qcow2" }, "BackingFileRefused"],
  ] as const)("%s → %s", async (_, src, reason) => {
    const c = claim();
    const url = src.url === "closed" ? "http://127.0.0.1:9/x.raw" : base + src.url;
    const checksum =
      "checksum" in src
        ? {
            algorithm: src.checksum.algorithm,
            hex: src.checksum.hex === "<raw>" ? sha256("/good.raw") : src.checksum.hex,
          }
        : undefined;
    const r = await importInto(c, { kind: "http", url, ...(checksum ? { checksum } : {}) });
    expect(r).toMatchObject({ result: "Failed", reason });
    expect(r.message.length).toBeGreaterThan(10);
    expect(sha(readFileSync(join(c.dir, "disk.img")))).toBe(c.before);
    expect(existsSync(join(c.dir, PARTIAL_FILE))).toBe(false);
  });
});

/** PUTs `body` to the importer, optionally cutting the connection after `cutAfter` bytes. */
function put(port: number, body: Buffer, cutAfter?: number): Promise<{ status?: number; text: string }> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: "PUT",
      path: "/upload",
      headers: { "content-length": body.length },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", () => resolve({ text: "connection closed" }));
    if (cutAfter === undefined) req.end(body);
    else req.write(body.subarray(0, cutAfter), () => setTimeout(() => req.destroy(), 200));
  });
}

describe("upload", () => {
  it("an interrupted upload is discarded; the next one restarts from zero and succeeds", async () => {
    const c = claim();
    const cfg = importerConfigSchema.parse({
      version: "v1",
      source: { kind: "upload", port: 0 },
      target: { kind: "filesystem", dir: c.dir, capacityBytes: CLAIM, format: "raw" },
      scratchDir: c.scratch,
    });
    const imp = await startImporter(cfg, tuning);
    try {
      const body = files.get("/good.qcow2.xz")!.body;
      await put(imp.port, body, Math.floor(body.length / 2));
      // Nothing was imported: the previous disk is as it was.
      expect(sha(readFileSync(join(c.dir, "disk.img")))).toBe(c.before);
      const done = await put(imp.port, body);
      expect(done.status, done.text).toBe(200);
      expect(await imp.result).toMatchObject({ result: "Succeeded", virtualSizeBytes: 16 * MiB });
      expect(guestView(join(c.dir, "disk.img"), "raw")).toBe(rawSha());
    } finally {
      await imp.close();
    }
  });

  it("vireo image-upload's sender streams a file and reads the importer's verdict (an HTML page refused)", async () => {
    const c = claim();
    const cfg = importerConfigSchema.parse({
      version: "v1",
      source: { kind: "upload", port: 0 },
      target: { kind: "filesystem", dir: c.dir, capacityBytes: CLAIM, format: "raw" },
      scratchDir: c.scratch,
    });
    const page = join(dir, "page.html");
    writeFileSync(page, files.get("/page.html")!.body);
    const imp = await startImporter(cfg, tuning);
    try {
      const seen: number[] = [];
      const answer = await sendImage("127.0.0.1", imp.port, page, (sent) => seen.push(sent));
      expect(answer.status).toBe(422);
      expect(JSON.parse(answer.body)).toMatchObject({ result: "Failed", reason: "NotAnImage" });
      expect(seen.at(-1)).toBe(1024);
      expect(sha(readFileSync(join(c.dir, "disk.img")))).toBe(c.before);
    } finally {
      await imp.close();
    }
    const ok = claim(false);
    const imp2 = await startImporter(
      { ...cfg, target: { ...cfg.target, dir: ok.dir } as typeof cfg.target, scratchDir: ok.scratch },
      tuning,
    );
    try {
      const answer = await sendImage("127.0.0.1", imp2.port, join(dir, "good.qcow2.xz"), () => {});
      expect(answer.status).toBe(200);
      expect(guestView(join(ok.dir, "disk.img"), "raw")).toBe(rawSha());
    } finally {
      await imp2.close();
    }
  });
});
