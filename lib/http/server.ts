/**
 * The one small HTTP server behind /healthz, /readyz, /metrics (and the launcher's /status): a table of GET
 * routes, each a function returning a status and a body. Operator, launcher and device plugin serve their
 * probes and metrics through it. Written here rather than taken from a framework because it is these few
 * lines on node:http, and each process already loads prom-client for /metrics.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** One answer. */
export interface HttpReply {
  status: number;
  body: string;
  /** Default `text/plain; charset=utf-8`. */
  contentType?: string;
}

/** A route: what to answer for a GET (or HEAD) of its path. */
export type HttpRoute = () => HttpReply | Promise<HttpReply>;

/** Where to listen and what to answer. */
export interface HttpServerOptions {
  port: number;
  /** Default all interfaces. */
  host?: string | undefined;
  /** Routes by path (query strings are ignored). */
  routes: Record<string, HttpRoute>;
  /** Headers on every answer (e.g. `cache-control: no-store`). */
  headers?: Record<string, string>;
}

/** A running server. */
export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

/** A text answer. */
export const text = (status: number, body: string): HttpReply => ({ status, body });

/** A probe: 200 with `ok`, else 503 with `failing`. */
export const probe =
  (check: () => boolean, failing: string, ok = "ok\n"): HttpRoute =>
  () =>
    check() ? text(200, ok) : text(503, failing);

/** Prometheus' text format from `registry`. */
export const metrics =
  (registry: Registry): HttpRoute =>
  async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType });

/** Starts the server (port 0: any free port). Other methods get 405, other paths 404, a failing route 500. */
export async function serveHttp(o: HttpServerOptions): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const send = (r: HttpReply) => {
      res.writeHead(r.status, { "content-type": r.contentType ?? "text/plain; charset=utf-8", ...o.headers });
      res.end(r.body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(text(405, "method not allowed\n"));
    const route = Object.hasOwn(o.routes, path) ? o.routes[path] : undefined;
    if (!route) return send(text(404, "not found\n"));
    Promise.resolve()
      .then(route)
      .then(send, (err: unknown) => send(text(500, `${path} failed: ${(err as Error).message}\n`)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
