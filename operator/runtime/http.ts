/** /metrics, /healthz and /readyz on one port. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** What the endpoints report. */
export interface HttpProbes {
  registry: Registry;
  /** Alive: the process serves and its loops run. */
  healthy(): boolean;
  /** Ready: caches synced (standbys are ready too: they serve as soon as they lead). */
  ready(): boolean;
}

/** A running HTTP server. */
export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

/** Starts the server on `host:port` (port 0: any free port). */
export async function serveHttp(host: string, port: number, probes: HttpProbes): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = (code: number, body: string) => {
      res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed\n");
    if (path === "/healthz") return probes.healthy() ? text(200, "ok\n") : text(503, "unhealthy\n");
    if (path === "/readyz") return probes.ready() ? text(200, "ok\n") : text(503, "caches not synced\n");
    if (path === "/metrics") {
      probes.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "Content-Type": probes.registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => text(500, `${(err as Error).message}\n`));
      return;
    }
    text(404, "not found\n");
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
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
