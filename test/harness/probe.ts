import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";

/** TLS material for probing an HTTPS endpoint that wants a client certificate. */
export interface ProbeTls {
  /** PEM CA bundle. */
  ca: string | Buffer;
  /** PEM client certificate. */
  cert: string | Buffer;
  /** PEM client key. */
  key: string | Buffer;
}

/** Status and body of one GET. */
export interface ProbeResponse {
  /** HTTP status code. */
  status: number;
  /** Response body as text. */
  body: string;
}

/** One GET with its own deadline; never waits longer than `timeoutMs`. */
export function httpGet(url: string, tls?: ProbeTls, timeoutMs = 5_000): Promise<ProbeResponse> {
  return new Promise((resolveGet, reject) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(url, { method: "GET", timeout: timeoutMs, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolveGet({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** What one readiness check found: nothing (ready) or the problem to report if the deadline passes. */
export type ProbeResult = { ready: true } | { ready: false; problem: string };

/** Options for {@link pollUntilReady}. */
export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between checks. */
  intervalMs?: number;
  /** Called before every check; throw from it to stop early (e.g. the process died). */
  beforeCheck?: () => void;
}

/**
 * Repeats `check` until it reports ready or the deadline passes; returns the last problem on timeout so
 * the caller can build an error that says what was still wrong.
 */
export async function pollUntilReady(
  check: () => Promise<ProbeResult>,
  options: PollOptions,
): Promise<{ ready: true } | { ready: false; problem: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let problem = "not checked yet";
  while (Date.now() < deadline) {
    options.beforeCheck?.();
    try {
      const result = await check();
      if (result.ready) return result;
      problem = result.problem;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    await sleep(options.intervalMs ?? 200);
  }
  options.beforeCheck?.();
  return { ready: false, problem };
}
