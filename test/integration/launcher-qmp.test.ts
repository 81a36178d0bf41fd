/** The QMP client against a real QEMU: greeting, commands, errors, events, and the end of the connection. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu } from "../../launcher/qemu/process.ts";

const dir = mkdtempSync(join(tmpdir(), "vireo-qmp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("QmpClient with QEMU 7.2", () => {
  it("negotiates, runs commands, maps errors, streams events and sees QEMU go", async () => {
    const sock = join(dir, "qmp.sock");
    const qemu = await spawnQemu([
      "-machine", "q35", "-accel", "tcg", "-m", "64M", "-nodefaults", "-no-user-config", "-display", "none", "-S",
      "-qmp", `unix:${sock},server=on,wait=off`,
    ]); // prettier-ignore
    try {
      const qmp = await QmpClient.connect(sock, { connectTimeoutMs: 30_000 });
      expect(qmp.greeting.version.qemu.major).toBeGreaterThanOrEqual(7);
      expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch", running: false });

      const err = await qmp.execute("no-such-command").catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "QMP_COMMAND", details: { errorClass: "CommandNotFound" } });
      const bad = await qmp.execute("qom-get", { path: "/nowhere", property: "x" }).catch((e: unknown) => e);
      expect(bad).toMatchObject({ code: "QMP_COMMAND", details: { errorClass: "DeviceNotFound" } });

      const seen: string[] = [];
      const stream = (async () => {
        for await (const e of qmp.events()) seen.push(e.event);
      })();
      const resumed = qmp.waitForEvent("RESUME", 30_000);
      await qmp.execute("cont");
      await resumed;
      const stopped = qmp.waitForEvent("STOP", 30_000);
      await qmp.execute("stop");
      expect((await stopped).timestampMs).toBeGreaterThan(Date.UTC(2020, 0, 1));

      const shutdown = qmp.waitForEvent("SHUTDOWN", 30_000);
      await qmp.execute("quit");
      expect((await shutdown).data).toMatchObject({ guest: false, reason: "host-qmp-quit" });
      await stream; // ends when QEMU closes the socket
      expect(seen).toEqual(["RESUME", "STOP", "SHUTDOWN"]);
      await expect(qmp.execute("query-status")).rejects.toMatchObject({ code: "QMP_CLOSED" });
      expect(await qemu.exited).toEqual({ code: 0, signal: null });
    } finally {
      qemu.kill("SIGKILL");
      await qemu.exited;
    }
  });
});
