import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient, PATCH } from "./client.ts";
import type { RequestLabels } from "./request-labels.ts";

// A stand-in API server on loopback: the client's request path and its observer, without a cluster.
let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const missing = req.url?.includes("/missing") ?? false;
      res.writeHead(missing ? 404 : req.method === "POST" ? 201 : 200, {
        "Content-Type": "application/json",
      });
      res.end(JSON.stringify(missing ? { kind: "Status", reason: "NotFound", message: "gone" } : {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function kubeConfigFor(p: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${p}`, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("KubeClient request observer", () => {
  it("reports verb, resource, code and a duration for answers, errors and failed connections", async () => {
    const seen: [RequestLabels, number][] = [];
    const client = await KubeClient.connect(kubeConfigFor(port), 4, (l, s) => seen.push([l, s]));
    await client.request("POST", "/api/v1/namespaces/prod/pods", { body: {} });
    await client.request("PATCH", "/apis/vireo.dev/v1alpha1/namespaces/prod/virtualmachines/web/status", {
      body: {},
      contentType: PATCH.apply,
    });
    await expect(client.request("GET", "/api/v1/namespaces/prod/pods/missing")).rejects.toMatchObject({
      status: 404,
    });
    await client.request("GET", "/api/v1/pods", { query: { watch: true } });
    client.close();

    // A port nobody listens on: the request fails without an answer.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const dead = await KubeClient.connect(kubeConfigFor(deadPort), 1, (l, s) => seen.push([l, s]));
    await expect(dead.request("DELETE", "/api/v1/namespaces/prod/pods/web")).rejects.toBeDefined();
    dead.close();

    expect(seen.map(([l]) => l)).toEqual([
      { verb: "create", resource: "pods", code: "201" },
      { verb: "apply", resource: "virtualmachines/status", code: "200" },
      { verb: "get", resource: "pods", code: "404" },
      { verb: "watch", resource: "pods", code: "200" },
      { verb: "delete", resource: "pods", code: "error" },
    ]);
    for (const [, seconds] of seen) {
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThan(30);
    }
  });
});

describe("KubeClient Retry-After", () => {
  it("retries a 429/503 with Retry-After as the server asks and gives up on one without", async () => {
    const hits = new Map<string, number>();
    const throttler = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const n = (hits.get(req.url ?? "") ?? 0) + 1;
        hits.set(req.url ?? "", n);
        const json = { "Content-Type": "application/json" };
        if (req.url?.startsWith("/api/v1/namespaces/a/pods") && n <= 2)
          res.writeHead(n === 1 ? 429 : 503, { ...json, "Retry-After": "1" });
        else if (req.url?.startsWith("/api/v1/namespaces/b/pods")) res.writeHead(503, json);
        else res.writeHead(201, json);
        res.end(JSON.stringify({ kind: "Status", reason: "TooManyRequests", message: "slow down" }));
      });
    });
    await new Promise<void>((resolve) => throttler.listen(0, "127.0.0.1", resolve));
    const client = await KubeClient.connect(kubeConfigFor((throttler.address() as AddressInfo).port), 2);
    try {
      await client.request("POST", "/api/v1/namespaces/a/pods", { body: { kind: "Pod" } });
      expect(hits.get("/api/v1/namespaces/a/pods")).toBe(3);
      expect(client.retriedAfter).toBe(2);
      await expect(client.request("GET", "/api/v1/namespaces/b/pods")).rejects.toMatchObject({ status: 503 });
      expect(hits.get("/api/v1/namespaces/b/pods")).toBe(1);
    } finally {
      client.close();
      await new Promise<void>((resolve) => throttler.close(() => resolve()));
    }
  });
});
