import type { Registry } from "prom-client";
import { metrics, serveHttp, text, type HttpEndpoint } from "../../lib/http/server.ts";
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
export type HealthServer = HttpEndpoint;

/**
 * /healthz (the launcher's event loop answers), /readyz (the guest runs), /metrics (Prometheus) and
 * /status (JSON), on lib/http's server. Read-only: nothing here changes the VM, so it may listen on the pod IP.
 */
export function startHealthServer(
  source: HealthSource,
  port: number,
  host = "0.0.0.0",
): Promise<HealthServer> {
  return serveHttp({
    port,
    host,
    headers: { "cache-control": "no-store" },
    routes: {
      "/healthz": () => text(200, "ok\n"),
      "/readyz": () => {
        const s = source.status();
        return isReady(s)
          ? text(200, "ready\n")
          : text(503, `not ready: ${s.phase}${s.pausedReason ? ` (${s.pausedReason})` : ""}\n`);
      },
      "/status": () => ({
        status: 200,
        body: JSON.stringify(source.status()) + "\n",
        contentType: "application/json",
      }),
      "/metrics": metrics(source.registry),
    },
  });
}
