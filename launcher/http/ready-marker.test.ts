import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readyMarker } from "./ready-marker.ts";

describe("readyMarker", () => {
  const dir = mkdtempSync(join(tmpdir(), "vireo-ready-"));
  afterEach(() => rmSync(join(dir, "ready"), { force: true }));

  it("creates the file when ready and removes it when not", () => {
    const m = readyMarker(join(dir, "ready"), { warn: () => undefined });
    m.update(true);
    expect(existsSync(join(dir, "ready"))).toBe(true);
    m.update(false);
    expect(existsSync(join(dir, "ready"))).toBe(false);
  });

  it("warns instead of throwing when the directory is missing, and retries on the next update", () => {
    const warnings: unknown[] = [];
    const m = readyMarker(join(dir, "missing", "ready"), { warn: (o: unknown) => warnings.push(o) });
    m.update(true);
    m.update(true);
    expect(warnings).toHaveLength(2);
  });
});
