import { describe, expect, it } from "vitest";
import { krewManifest, KrewManifestError } from "./krew-manifest.ts";

const ok = {
  version: "0.1.0",
  uri: "https://vireo.dev/releases/v0.1.0/kubectl-vireo-0.1.0.tar.gz",
  sha256: "a".repeat(64),
};

describe("krew manifest", () => {
  it("names the plugin vireo, versions it v<semver>, and serves one archive to linux and darwin", () => {
    const m = krewManifest(ok) as {
      metadata: { name: string };
      spec: { version: string; platforms: Array<{ selector: unknown; sha256: string; bin: string }> };
    };
    expect(m.metadata.name).toBe("vireo");
    expect(m.spec.version).toBe("v0.1.0");
    expect(m.spec.platforms.map((p) => p.selector)).toEqual([
      { matchLabels: { os: "linux" } },
      { matchLabels: { os: "darwin" } },
    ]);
    expect(m.spec.platforms.every((p) => p.sha256 === ok.sha256 && p.bin === "kubectl-vireo")).toBe(true);
  });

  it.each([
    [{ version: "v0.1" }, "version"],
    [{ sha256: "ABC" }, "sha256"],
    [{ uri: "ftp://x" }, "uri"],
  ])("refuses %j, naming %s", (bad, path) => {
    expect(() => krewManifest({ ...ok, ...bad })).toThrow(KrewManifestError);
    expect(() => krewManifest({ ...ok, ...bad })).toThrow(new RegExp(`^${path}: `));
  });
});
