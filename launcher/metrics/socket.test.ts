import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { metricsSocketPath } from "../../crds/contract/index.ts";
import { serveMetricsSocket, type MetricsSocket } from "./socket.ts";

const get = (socketPath: string, path: string, method = "GET") =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath, path, method }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });

describe("serveMetricsSocket", () => {
  const dir = mkdtempSync(join(tmpdir(), "vireo-metrics-sock-"));
  let served: MetricsSocket | undefined;
  afterEach(async () => {
    await served?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the registry on GET /metrics only, on a socket others may connect to", async () => {
    const registry = new Registry();
    new Gauge({ name: "vireo_vm_test", help: "t", registers: [registry] }).set(3);
    served = await serveMetricsSocket(registry, metricsSocketPath(dir));
    expect(served.path).toBe(join(dir, "metrics.sock"));
    expect(statSync(served.path).mode & 0o777).toBe(0o666);
    expect(await get(served.path, "/metrics")).toEqual({
      status: 200,
      body: expect.stringContaining("vireo_vm_test 3"),
    });
    for (const path of ["/status", "/readyz", "/"])
      expect((await get(served.path, path)).status, path).toBe(404);
    expect((await get(served.path, "/metrics", "POST")).status).toBe(404);
  });
});
