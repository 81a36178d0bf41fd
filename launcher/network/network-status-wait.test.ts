import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitForNetworkStatus } from "./setup.ts";

describe("waitForNetworkStatus", () => {
  const dir = mkdtempSync(join(tmpdir(), "vireo-netstatus-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("returns once the kubelet fills the file", async () => {
    const path = join(dir, "network-status");
    writeFileSync(path, "");
    setTimeout(() => writeFileSync(path, '[{"name":"cbr0","interface":"eth0"}]'), 100);
    await expect(waitForNetworkStatus(path, 5000, 20)).resolves.toBe(true);
  });

  it("gives up at the deadline when the file stays empty or missing", async () => {
    await expect(waitForNetworkStatus(join(dir, "missing"), 100, 20)).resolves.toBe(false);
  });
});
