import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { LauncherStatus } from "../supervisor/state.ts";

/** What the health server needs from the supervisor. */
export interface HealthSource {
  status(): LauncherStatus;
  registry: Registry;
}

/** Ready: the guest runs and is not paused (the kubelet then routes Service traffic to the pod). */
export function isReady(status: LauncherStatus): boolean {
  return status.phase === "running";
}

/** The launcher's HTTP endpoints. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * /healthz (the launcher's event loop answers), /readyz (the guest runs), /metrics (Prometheus) and
 * /status (JSON). Read-only: nothing here changes the VM, so it may listen on the pod IP.
 */
export async function startHealthServer(
  source: HealthSource,
  port: number,
  host = "0.0.0.0",
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (code: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n");
    switch (path) {
      case "/healthz":
        return send(200, "ok\n");
      case "/readyz": {
        const s = source.status();
        return isReady(s)
          ? send(200, "ready\n")
          : send(503, `not ready: ${s.phase}${s.pausedReason ? ` (${s.pausedReason})` : ""}\n`);
      }
      case "/status":
        return send(200, JSON.stringify(source.status()) + "\n", "application/json");
      case "/metrics":
        source.registry
          .metrics()
          .then((body) => send(200, body, source.registry.contentType))
          .catch((err: Error) => send(500, `metrics failed: ${err.message}\n`));
        return;
      default:
        return send(404, "not found\n");
    }
  });
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
