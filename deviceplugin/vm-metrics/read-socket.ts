/**
 * Reads one launcher's /metrics over its unix socket, bounded in time and size, without following a link.
 *
 * Why not plainly connect to the path: the socket's directory is writable by the pod, and connect(2)
 * follows symlinks in this process's mount namespace, where every pod's volumes are visible. A pod in
 * namespace A could link its `metrics.sock` to B's socket and have B's metrics labelled A. So the last
 * component is opened with O_PATH|O_NOFOLLOW (a link yields the link itself, which is refused), checked to
 * be a socket with fstat, and connected through `/proc/self/fd/N`, which names that very inode: swapping
 * the name afterwards changes nothing. The directories above it are the kubelet's, not the pod's.
 */
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { request } from "node:http";

/** O_PATH (Linux): a handle on the inode that neither reads nor follows; node's fs.constants lacks it. */
const O_PATH = 0o10000000;

/** Why a launcher's metrics could not be read. */
export type ReadFailure = "absent" | "not-a-socket" | "refused" | "timeout" | "too-large" | "http-status";

/** A failed read, with a stable code for the collector's counters. */
export class ReadSocketError extends Error {
  constructor(
    readonly code: ReadFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ReadSocketError";
  }
}

/** Limits of one read. */
export interface ReadLimits {
  timeoutMs: number;
  maxBytes: number;
}

/** GET /metrics on the unix socket at `path` (last component not followed if a link). */
export async function readMetricsSocket(path: string, limits: ReadLimits): Promise<string> {
  let fd: number;
  try {
    fd = openSync(path, O_PATH | constants.O_NOFOLLOW);
  } catch (cause) {
    throw new ReadSocketError("absent", `${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    if (!fstatSync(fd).isSocket())
      throw new ReadSocketError("not-a-socket", `${path} is not a socket (a link or a file): refused`);
    return await get(`/proc/self/fd/${fd}`, path, limits);
  } finally {
    closeSync(fd);
  }
}

function get(socketPath: string, shown: string, limits: ReadLimits): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      path: "/metrics",
      timeout: limits.timeoutMs,
      headers: { host: "launcher" },
    });
    const timer = setTimeout(() => {
      req.destroy(new ReadSocketError("timeout", `${shown}: no answer within ${limits.timeoutMs} ms`));
    }, limits.timeoutMs);
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        req.destroy(new ReadSocketError("http-status", `${shown}: HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) {
          req.destroy(new ReadSocketError("too-large", `${shown}: more than ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
      res.on("error", () => {}); // reported through req's error
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(
        err instanceof ReadSocketError
          ? err
          : new ReadSocketError("refused", `${shown}: ${err.message}`, { cause: err }),
      );
    });
    req.end();
  });
}
