import { afterEach, describe, expect, it } from "vitest";
import { GOLDEN_HOST, shapes } from "../../test/golden/qemu/shapes.ts";
import { initialStatus, type LauncherStatus } from "../supervisor/state.ts";
import { createRegistry, registerCollectors } from "./registry.ts";
import { startHealthServer, type HealthServer } from "./server.ts";

describe("health server", () => {
  let server: HealthServer | undefined;
  afterEach(async () => server?.close());

  it("serves healthz, readyz by phase, status JSON and metrics with the VM's labels", async () => {
    let status: LauncherStatus = initialStatus();
    const registry = createRegistry();
    registerCollectors(registry, {
      config: shapes(GOLDEN_HOST)[0]!.config,
      accelerator: () => status.accel?.accel,
      disks: () => [],
      nics: () => [],
      qemuPid: () => undefined,
      qmp: () => undefined,
    });
    server = await startHealthServer({ status: () => status, registry }, 0, "127.0.0.1");
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${server!.port}${path}`);
      return { code: r.status, body: await r.text() };
    };
    expect(await get("/healthz")).toEqual({ code: 200, body: "ok\n" });
    expect(await get("/readyz")).toEqual({ code: 503, body: "not ready: starting\n" });
    status = { ...status, phase: "running", accel: { accel: "tcg", hostCpuQuirks: [], reason: "x" } };
    expect((await get("/readyz")).code).toBe(200);
    status = { ...status, phase: "paused", pausedReason: "user" };
    expect(await get("/readyz")).toEqual({ code: 503, body: "not ready: paused (user)\n" });
    expect(JSON.parse((await get("/status")).body)).toMatchObject({ phase: "paused", pausedReason: "user" });
    const metrics = await get("/metrics");
    expect(metrics.code).toBe(200);
    expect(metrics.body).toContain(
      'vireo_vm_info{namespace="prod",name="web",machine="q35",firmware="bios",accelerator="tcg"} 1',
    );
    expect((await get("/nope")).code).toBe(404);
  });
});
