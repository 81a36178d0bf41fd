import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parsePinnedVersions, versionsFile } from "../../test/harness/binaries.ts";

const buildScript = join(dirname(fileURLToPath(import.meta.url)), "build.sh");

describe("scripts/k8s/versions.env", () => {
  it("is read the same by the harness and by build.sh", () => {
    const pinned = parsePinnedVersions(readFileSync(versionsFile, "utf8"));
    const printed = execFileSync("bash", [buildScript, "--print-env"], {
      encoding: "utf8",
      env: { ...process.env, VIREO_CACHE: "/nonexistent/vireo-cache" },
    });
    expect(printed).toContain(`export VIREO_K8S_VERSION=${pinned.K8S_VERSION}\n`);
    expect(printed).toContain(`export VIREO_ETCD_VERSION=${pinned.ETCD_VERSION}\n`);
    expect(printed).toContain(`export VIREO_HELM_VERSION=${pinned.HELM_VERSION}\n`);
    expect(printed).toContain("export VIREO_K8S_BIN=/nonexistent/vireo-cache/bin/current\n");
  });

  it("rejects a version that is not a plain release tag", () => {
    expect(() =>
      parsePinnedVersions("K8S_VERSION=1.37\nETCD_VERSION=v3.6.16\nHELM_VERSION=v3.22.0\n"),
    ).toThrow();
    expect(
      parsePinnedVersions("# c\nK8S_VERSION=v1.37.2\n\nETCD_VERSION=v3.6.16\nHELM_VERSION=v3.22.0\n"),
    ).toEqual({ K8S_VERSION: "v1.37.2", ETCD_VERSION: "v3.6.16", HELM_VERSION: "v3.22.0" });
  });
});
