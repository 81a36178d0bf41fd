/**
 * The importer's HTTP side: progress on `GET /progress` (polled by the operator) and, for an upload source,
 * the image on `PUT /upload` (reached through the API server's port-forward), around one running import.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { overallPercent } from "./decide.ts";
import type { ImporterConfig, ImportResult } from "../crds/importer/config.ts";
import { runImport, type Progress } from "./import.ts";
import { DEFAULT_TUNING, type FetchTuning } from "./fetch.ts";

/** A running importer: its port and the promise of its result. */
export interface ImporterHandle {
  port: number;
  result: Promise<ImportResult>;
  close(): Promise<void>;
}

/**
 * Starts the progress (and upload) server and the import. An upload is restartable, not resumable: an
 * interrupted PUT discards what arrived and the server waits for the next PUT from the start.
 */
export async function startImporter(
  cfg: ImporterConfig,
  tuning: FetchTuning = DEFAULT_TUNING,
): Promise<ImporterHandle> {
  let progress: Progress = { stage: "transfer", percent: 0 };
  let uploadWaiter: ((path: string) => void) | undefined;
  let uploadBusy = false;
  let settled: ImportResult | undefined;
  const uploaded = new Promise<string>((resolve) => (uploadWaiter = resolve));
  const uploadPath = join(cfg.scratchDir, "upload");

  async function onUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (uploadBusy || settled) {
      res.writeHead(409, { "content-type": "text/plain" }).end("an upload is already in progress or done\n");
      return;
    }
    uploadBusy = true;
    const total = Number(req.headers["content-length"] ?? NaN);
    let got = 0;
    // Counts bytes on their way to the file (a second 'data' listener would switch the request to flowing
    // mode before the pipe is set up, and lose what arrives meanwhile).
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        got += chunk.length;
        if (total > 0) progress = { stage: "transfer", percent: overallPercent("transfer", got / total) };
        done(null, chunk);
      },
    });
    try {
      await mkdir(cfg.scratchDir, { recursive: true });
      await pipeline(req, count, createWriteStream(uploadPath));
      if (total > 0 && got !== total) throw new Error("upload interrupted");
    } catch {
      uploadBusy = false;
      progress = { stage: "transfer", percent: 0 };
      await rm(uploadPath, { force: true });
      if (!res.destroyed) res.writeHead(400).end("upload interrupted; send it again from the start\n");
      return;
    }
    uploadWaiter?.(uploadPath);
    const r = await result;
    res.writeHead(r.result === "Succeeded" ? 200 : 422, { "content-type": "application/json" });
    res.end(JSON.stringify(r) + "\n");
  }

  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/progress") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(settled ? { ...progress, result: settled.result } : progress));
    } else if (req.method === "PUT" && req.url === "/upload" && cfg.source.kind === "upload") {
      void onUpload(req, res);
    } else res.writeHead(404).end();
  });
  const port = cfg.source.kind === "upload" ? cfg.source.port : cfg.progressPort;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve());
  });
  const result = runImport(cfg, (p) => (progress = p), { tuning, uploaded: () => uploaded }).catch(
    (err: Error): ImportResult => ({ result: "Failed", reason: "ConvertFailed", message: err.message }),
  );
  void result.then((r) => (settled = r));
  return {
    port: (server.address() as { port: number }).port,
    result,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
