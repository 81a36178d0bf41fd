/**
 * The device plugin's small HTTP endpoint (lib/http's server): /healthz (alive), /readyz (registered),
 * /metrics (its own) and, with a pods directory, /vm-metrics (every launcher on this node, vm-metrics/collector.ts).
 */
import type { Logger } from "pino";
import {
  metrics as metricsRoute,
  probe,
  serveHttp,
  text,
  type HttpEndpoint,
  type HttpRoute,
} from "../lib/http/server.ts";
import type { DevicePluginManager } from "./manager.ts";
import type { DevicePluginMetrics } from "./metrics.ts";
import { collectVmMetrics, type VmMetricsOptions } from "./vm-metrics/collector.ts";

/** Starts the HTTP endpoint on `port` (all interfaces: the kubelet probes the pod IP). */
export function startHealthServer(
  port: number,
  manager: Pick<DevicePluginManager, "registered">,
  metrics: DevicePluginMetrics,
  vm?: { options: VmMetricsOptions; log: Logger },
): Promise<HttpEndpoint> {
  const routes: Record<string, HttpRoute> = {
    "/healthz": () => text(200, "ok\n"),
    "/readyz": probe(() => manager.registered, "not registered with the kubelet\n"),
    "/metrics": metricsRoute(metrics.registry),
  };
  if (vm)
    routes["/vm-metrics"] = async () => {
      const { text: body, results } = await collectVmMetrics(vm.options);
      for (const r of results) {
        metrics.vmMetricsRead(r.result);
        if (r.result !== "success")
          vm.log.warn(
            { pod: `${r.target.namespace}/${r.target.pod}`, result: r.result, err: r.error },
            "launcher metrics not read",
          );
      }
      return { status: 200, body, contentType: "text/plain; version=0.0.4; charset=utf-8" };
    };
  return serveHttp({ port, routes });
}
