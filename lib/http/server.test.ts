import { Registry, Counter } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { metrics, probe, serveHttp, text, type HttpEndpoint } from "./server.ts";

describe("serveHttp", () => {
  let ep: HttpEndpoint | undefined;
  afterEach(async () => ep?.close());

  it("answers its routes, 404 others, 405 other methods, 500 a failing route", async () => {
    const registry = new Registry();
    new Counter({ name: "vireo_test_total", help: "test", registers: [registry] }).inc();
    let ready = false;
    ep = await serveHttp({
      port: 0,
      host: "127.0.0.1",
      headers: { "cache-control": "no-store" },
      routes: {
        "/healthz": () => text(200, "ok\n"),
        "/readyz": probe(() => ready, "not yet\n"),
        "/metrics": metrics(registry),
        "/boom": () => Promise.reject(new Error("broken")),
      },
    });
    const get = async (path: string, method = "GET") => {
      const r = await fetch(`http://127.0.0.1:${ep!.port}${path}`, { method });
      return {
        status: r.status,
        body: await r.text(),
        type: r.headers.get("content-type"),
        cache: r.headers.get("cache-control"),
      };
    };
    expect(await get("/healthz?x=1")).toEqual({
      status: 200,
      body: "ok\n",
      type: "text/plain; charset=utf-8",
      cache: "no-store",
    });
    expect(await get("/readyz")).toMatchObject({ status: 503, body: "not yet\n" });
    ready = true;
    expect(await get("/readyz")).toMatchObject({ status: 200, body: "ok\n" });
    const m = await get("/metrics");
    expect(m.body).toContain("vireo_test_total 1");
    expect(m.type).toBe(registry.contentType);
    expect(await get("/nope")).toMatchObject({ status: 404 });
    expect(await get("/toString")).toMatchObject({ status: 404 });
    expect(await get("/healthz", "POST")).toMatchObject({ status: 405 });
    expect(await get("/boom")).toMatchObject({ status: 500, body: "/boom failed: broken\n" });
  });
});
