// docs/gitops.md shows the Argo CD health check users paste into argocd-cm; it must be the file the tests run.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

describe("docs/gitops.md", () => {
  it("embeds charts/vireo/files/argocd-health.lua verbatim under the argocd-cm key", () => {
    const lua = readFileSync(join(root, "charts/vireo/files/argocd-health.lua"), "utf8");
    const doc = readFileSync(join(root, "docs/gitops.md"), "utf8");
    const key = "  resource.customizations.health.vireo.dev_VirtualMachine: |\n";
    const start = doc.indexOf(key);
    expect(start).toBeGreaterThan(0);
    const block = doc.slice(start + key.length, doc.indexOf("```", start));
    const unindented = block
      .split("\n")
      .map((l) => l.replace(/^ {4}/, ""))
      .join("\n");
    expect(unindented).toBe(lua);
  });
});
