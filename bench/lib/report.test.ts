import { describe, expect, it } from "vitest";
import { atMost, fmt, renderMarkdown, renderTable, type SectionResult } from "./report.ts";

const sections: SectionResult[] = [
  {
    section: "overhead",
    rows: [
      atMost("launcher RSS", 52.25, 45, "MiB"),
      { metric: "total", value: "90.0 MiB", kubevirt: "250.0 MiB", ratio: 0.36 },
    ],
    notes: [],
    data: {},
  },
  { section: "start", rows: [atMost("p50 to QMP", 240, 300, "ms", {}, 0)], notes: [], data: {} },
];

describe("report", () => {
  it("formats figures and judges targets", () => {
    expect(fmt(1.25, "s", 2)).toBe("1.25 s");
    expect(fmt(undefined, "s")).toBe("–");
    expect(fmt(NaN, "s")).toBe("–");
    expect(atMost("x", 45, 45, "MiB").ok).toBe(true);
    expect(atMost("x", 45.1, 45, "MiB").ok).toBe(false);
    expect(atMost("x", undefined, 45, "MiB").ok).toBe(false);
  });

  it("renders aligned columns with a rule between sections", () => {
    const lines = renderTable(sections).split("\n");
    expect(lines[0]).toMatch(/^section\s+metric\s+vireo\s+kubevirt\s+ratio\s+target\s+met$/);
    expect(lines[2]).toMatch(/^overhead\s+launcher RSS\s+52\.3 MiB\s+≤ 45 MiB\s+NO$/);
    expect(lines[3]).toContain("0.36×");
    expect(lines[4]).toMatch(/^-+/);
    expect(lines[5]).toMatch(/^start\s+p50 to QMP\s+240 ms\s+≤ 300 ms\s+yes$/);
    // Every cell starts in the same column on every line.
    const col = lines[0]!.indexOf("vireo");
    expect(lines[2]!.slice(col, col + 8)).toBe("52.3 MiB");
  });

  it("renders Markdown rows", () => {
    const md = renderMarkdown(sections).split("\n");
    expect(md).toHaveLength(5);
    expect(md[2]).toBe("| overhead | launcher RSS | 52.3 MiB |  |  | ≤ 45 MiB | **no** |");
    expect(md[3]).toBe("| overhead | total | 90.0 MiB | 250.0 MiB | 0.36× |  |  |");
  });
});
