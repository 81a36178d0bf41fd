/**
 * The launcher's metrics on a unix socket in its run directory (the pod's `run` emptyDir), for the node's
 * collector in the device plugin DaemonSet (deviceplugin/vm-metrics/). With the bridge binding the pod IP
 * belongs to the guest, so this socket is how the per-VM metrics leave the pod.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { Registry } from "prom-client";

/** A listening metrics socket. */
export interface MetricsSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (nothing else: this socket is reachable by the node's collector, which must not
 * be able to change the VM) on a unix socket at `path`.
 */
export async function serveMetricsSocket(registry: Registry, path: string): Promise<MetricsSocket> {
  const server = createServer((req, res) => {
    const ok =
      (req.method === "GET" || req.method === "HEAD") && (req.url ?? "").split("?")[0] === "/metrics";
    if (!ok) {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics here\n");
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (err: Error) =>
        res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await rm(path, { force: true }); // a socket left by an earlier launcher in this pod
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  // The collector runs as root without CAP_DAC_OVERRIDE, so it needs "other" write access to connect.
  // The directory is the pod's own volume: only this pod and the node's root can reach the socket.
  await chmod(path, 0o666);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
