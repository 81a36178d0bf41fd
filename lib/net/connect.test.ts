import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConnectError, connectWithRetry } from "./connect.ts";

describe("connectWithRetry", () => {
  const dir = mkdtempSync(join(tmpdir(), "vireo-connect-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("waits for a socket that appears later", async () => {
    const path = join(dir, "late.sock");
    const server = createServer((c) => c.end("hi"));
    setTimeout(() => server.listen(path), 200);
    const socket = await connectWithRetry(path, { timeoutMs: 10_000 });
    const data = await new Promise<string>((r) => socket.once("data", (d) => r(String(d))));
    expect(data).toBe("hi");
    socket.destroy();
    await new Promise((r) => server.close(r));
  });

  it("gives up at the deadline, or when told, with the last error as cause", async () => {
    const path = join(dir, "never.sock");
    const err = await connectWithRetry(path, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: "CONNECT_FAILED", cause: { code: "ENOENT" } });
    let stop = false;
    setTimeout(() => (stop = true), 100);
    await expect(connectWithRetry(path, { timeoutMs: Infinity, giveUp: () => stop })).rejects.toBeInstanceOf(
      ConnectError,
    );
  });
});
