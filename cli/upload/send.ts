/** Streaming a file to the importer's upload endpoint (`PUT /upload`), with progress. */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { request } from "node:http";

/** What the importer answered. */
export interface UploadAnswer {
  status: number;
  body: string;
}

/**
 * PUTs `file` to `http://host:port/upload` with its Content-Length (the importer refuses a short upload),
 * reporting bytes sent. Resolves with the importer's answer after it has imported the image (or refused it).
 */
export async function sendImage(
  host: string,
  port: number,
  file: string,
  onProgress: (sent: number, total: number) => void,
): Promise<UploadAnswer> {
  const total = (await stat(file)).size;
  return new Promise((resolve, reject) => {
    const req = request({
      host,
      port,
      method: "PUT",
      path: "/upload",
      headers: { "content-type": "application/octet-stream", "content-length": total },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    let sent = 0;
    const src = createReadStream(file, { highWaterMark: 1 << 20 });
    src.on("data", (c) => {
      sent += c.length;
      onProgress(sent, total);
    });
    src.on("error", (err) => req.destroy(err));
    src.pipe(req);
  });
}
