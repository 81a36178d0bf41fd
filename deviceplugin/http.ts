/**
 * The device plugin's small HTTP endpoint: /healthz (alive), /readyz (registered), /metrics (its own) and,
 * with a pods directory, /vm-metrics (every launcher on this node, vm-metrics/collector.ts).
 */
import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import type { DevicePluginManager } from "./manager.ts";
import type { DevicePluginMetrics } from "./metrics.ts";
import { collectVmMetrics, type VmMetricsOptions } from "./vm-metrics/collector.ts";

/** Starts the HTTP endpoint on `port` (all interfaces: the kubelet probes the pod IP). */
export async function startHealthServer(
  port: number,
  manager: Pick<DevicePluginManager, "registered">,
  metrics: DevicePluginMetrics,
  vm?: { options: VmMetricsOptions; log: Logger },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = manager.registered;
      res
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? "ok\n" : "not registered with the kubelet\n");
    } else if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === "/vm-metrics" && vm) {
      collectVmMetrics(vm.options).then(
        ({ text, results }) => {
          for (const r of results) {
            metrics.vmMetricsRead(r.result);
            if (r.result !== "success")
              vm.log.warn(
                { pod: `${r.target.namespace}/${r.target.pod}`, result: r.result, err: r.error },
                "launcher metrics not read",
              );
          }
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text);
        },
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve());
  });
  return server;
}
