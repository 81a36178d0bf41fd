/** /metrics, /healthz and /readyz on one port (lib/http's server). */
import type { Registry } from "prom-client";
import { metrics, probe, serveHttp as serveRoutes, type HttpEndpoint } from "../../lib/http/server.ts";

/** What the endpoints report. */
export interface HttpProbes {
  registry: Registry;
  /** Alive: the process serves and its loops run. */
  healthy(): boolean;
  /** Ready: caches synced (standbys are ready too: they serve as soon as they lead). */
  ready(): boolean;
}

export type { HttpEndpoint };

/** Starts the server on `host:port` (port 0: any free port). */
export function serveHttp(host: string, port: number, probes: HttpProbes): Promise<HttpEndpoint> {
  return serveRoutes({
    host,
    port,
    routes: {
      "/healthz": probe(() => probes.healthy(), "unhealthy\n"),
      "/readyz": probe(() => probes.ready(), "caches not synced\n"),
      "/metrics": metrics(probes.registry),
    },
  });
}
