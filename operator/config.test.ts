import { describe, expect, it } from "vitest";
import { loadOperatorConfig, parseOperatorConfig } from "./config.ts";
import { InvalidConfigError } from "./errors.ts";

describe("operator configuration", () => {
  it("has working defaults", () => {
    const c = parseOperatorConfig({ identity: "x" });
    expect(c).toMatchObject({
      emulation: false,
      defaultBinding: "bridge",
      namespaces: [],
      leaderElect: true,
      leaseName: "vireo-operator",
      metricsPort: 8080,
      workers: 16,
      logLevel: "info",
    });
  });

  it("takes flags over environment over defaults", () => {
    const c = loadOperatorConfig(["--launcher-image=img:flag", "--workers", "4"], {
      VIREO_LAUNCHER_IMAGE: "img:env",
      VIREO_EMULATION: "true",
      VIREO_NAMESPACES: "a, b,,c",
      VIREO_IDENTITY: "pod-1",
    });
    expect(c).toMatchObject({
      launcherImage: "img:flag",
      workers: 4,
      emulation: true,
      namespaces: ["a", "b", "c"],
      identity: "pod-1",
    });
  });

  it("reads launcher pull Secrets as a comma-separated list and the overhead base as a quantity", () => {
    const c = loadOperatorConfig(["--launcher-memory-overhead=256Mi"], {
      VIREO_LAUNCHER_IMAGE_PULL_SECRETS: "regcred, mirror.creds,,",
    });
    expect(c.launcherImagePullSecrets).toEqual(["regcred", "mirror.creds"]);
    expect(c.launcherMemoryOverhead).toBe("256Mi");
    // A parsed config parses again (embedding re-feeds it).
    expect(parseOperatorConfig(c)).toEqual(c);
    expect(parseOperatorConfig({ identity: "x" })).toMatchObject({ launcherImagePullSecrets: [] });
    expect(parseOperatorConfig({ identity: "x" }).launcherMemoryOverhead).toBeUndefined();
    const bad = () =>
      loadOperatorConfig([], {
        VIREO_LAUNCHER_IMAGE_PULL_SECRETS: "Bad_Name",
        VIREO_LAUNCHER_MEMORY_OVERHEAD: "lots",
      });
    expect(bad).toThrow(InvalidConfigError);
    try {
      bad();
    } catch (err) {
      const paths = (err as InvalidConfigError).problems.map((p) => p.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^launcherImagePullSecrets/),
          "launcherMemoryOverhead",
        ]),
      );
    }
    expect(() => parseOperatorConfig({ launcherMemoryOverhead: "1Ti" })).toThrow(/launcherMemoryOverhead/);
  });

  it("reports every bad setting with its name, and unknown flags", () => {
    const bad = () =>
      loadOperatorConfig(["--workers=0", "--default-binding=tap"], { VIREO_RENEW_DEADLINE: "30" });
    expect(bad).toThrow(InvalidConfigError);
    try {
      bad();
    } catch (err) {
      const paths = (err as InvalidConfigError).problems.map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(["workers", "defaultBinding"]));
      expect((err as InvalidConfigError).code).toBe("INVALID_CONFIG");
    }
    expect(() => loadOperatorConfig(["--no-such-flag=1"], {})).toThrow(/no-such-flag/);
    expect(() => parseOperatorConfig({ renewDeadlineSeconds: 20, leaseDurationSeconds: 15 })).toThrow(
      /renewDeadlineSeconds must be less than leaseDurationSeconds/,
    );
  });
});
