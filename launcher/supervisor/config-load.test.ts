import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLDEN_HOST, shapes } from "../../test/golden/qemu/shapes.ts";
import { ConfigError, loadLauncherConfig, parseLauncherConfig } from "./config-load.ts";

const good = shapes(GOLDEN_HOST)[0]!.config;

describe("launcher config at the edge", () => {
  it("accepts a valid config from the environment", async () => {
    await expect(
      loadLauncherConfig(undefined, { VIREO_LAUNCHER_CONFIG: JSON.stringify(good) }),
    ).resolves.toEqual(good);
  });

  it("reads the pod's config file when neither --config nor the environment gives one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vireo-config-"));
    try {
      const podFile = join(dir, "launcher-config.json");
      writeFileSync(podFile, JSON.stringify(good));
      await expect(loadLauncherConfig(undefined, {}, podFile)).resolves.toEqual(good);
      // The environment still wins (vireo run, tests), and --config over both.
      const other = { ...good, vm: { ...good.vm, name: "other" } };
      await expect(
        loadLauncherConfig(undefined, { VIREO_LAUNCHER_CONFIG: JSON.stringify(other) }, podFile),
      ).resolves.toMatchObject({ vm: { name: "other" } });
      writeFileSync(join(dir, "given.json"), "{nope");
      await expect(loadLauncherConfig(join(dir, "given.json"), {}, podFile)).rejects.toThrowError(
        /given.json is not JSON/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names every bad field by its path, unknown fields included", () => {
    const bad = { ...good, cpu: { ...good.cpu, sockets: 0 }, memory: { guestBytes: -1 }, extra: true };
    let err: unknown;
    try {
      parseLauncherConfig(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(["cpu.sockets", "memory.guestBytes", "extra"]));
    expect((err as ConfigError).code).toBe("LAUNCHER_CONFIG_INVALID");
  });

  it("explains a missing config and a non-JSON one", async () => {
    await expect(loadLauncherConfig(undefined, {})).rejects.toThrowError(
      /pass --config FILE or set VIREO_LAUNCHER_CONFIG/,
    );
    await expect(loadLauncherConfig(undefined, { VIREO_LAUNCHER_CONFIG: "{nope" })).rejects.toThrowError(
      /is not JSON/,
    );
    await expect(loadLauncherConfig("/nonexistent/config.json", {})).rejects.toThrowError(/cannot read/);
  });
});
