import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { controlRequest } from "./client.ts";
import { startControlServer, type ControlServer } from "./server.ts";

describe("control socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "vireo-control-"));
  let server: ControlServer | undefined;
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers commands, reports handler errors with their code, and is owner-only", async () => {
    const path = join(dir, "control.sock");
    const seen: string[] = [];
    server = await startControlServer(path, async ({ command }) => {
      seen.push(command);
      if (command === "pause") throw Object.assign(new Error("already paused"), { code: "ALREADY_PAUSED" });
      return { phase: "running" };
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(controlRequest(path, "status")).resolves.toEqual({ phase: "running" });
    await expect(controlRequest(path, "pause")).rejects.toMatchObject({
      code: "ALREADY_PAUSED",
      message: "already paused",
    });
    await expect(controlRequest(path, "bogus" as "status")).rejects.toMatchObject({
      code: "CONTROL_BAD_REQUEST",
    });
    expect(seen).toEqual(["status", "pause"]);
    await expect(controlRequest(join(dir, "absent.sock"), "status")).rejects.toMatchObject({
      code: "CONTROL_UNREACHABLE",
    });
  });
});
