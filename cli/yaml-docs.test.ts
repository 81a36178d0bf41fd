import { describe, expect, it, vi } from "vitest";
import type * as Yaml from "yaml";

// Counts the library's own key comparisons: a parse that leaves its duplicate-key check on gets a counting
// comparator in its place, so a regression to the quadratic check shows as n²/2 comparisons.
const library = { comparisons: 0 };
vi.mock("yaml", async (importOriginal) => {
  const yaml = await importOriginal<typeof Yaml>();
  return {
    ...yaml,
    parseAllDocuments: (text: string, options: Record<string, unknown> = {}) =>
      yaml.parseAllDocuments(text, {
        ...options,
        ...(options.uniqueKeys === false
          ? {}
          : {
              uniqueKeys: (a: unknown, b: unknown) => {
                library.comparisons++;
                return a === b;
              },
            }),
      }),
  };
});

const { parseYamlDocuments, uniqueKeyWork } = await import("./yaml-docs.ts");
const actual = await vi.importActual<typeof Yaml>("yaml");

function labels(n: number): string {
  const lines = [
    "apiVersion: vireo.dev/v1alpha1",
    "kind: VirtualMachine",
    "metadata:",
    "  name: big",
    "  labels:",
  ];
  for (let i = 0; i < n; i++) lines.push(`    k${i}: v`);
  return [...lines, "spec: {memory: {guest: 1Gi}}", ""].join("\n");
}

describe("parseYamlDocuments", () => {
  it("checks 40k keys of one map in linear work (the library's check: 800M comparisons)", () => {
    library.comparisons = 0;
    const [doc] = parseYamlDocuments(labels(40_000));
    expect(doc!.errors).toEqual([]);
    // 40k labels + apiVersion/kind/metadata/spec + name/labels + memory + guest.
    expect(uniqueKeyWork.keys).toBe(40_000 + 4 + 2 + 1 + 1);
    expect(library.comparisons).toBe(0);
    console.log(
      `40k keys: ${uniqueKeyWork.keys} keys looked at, ${library.comparisons} pairwise comparisons`,
    );
  });

  it("refuses a repeated key with its line and column, in block and flow maps", () => {
    const [block] = parseYamlDocuments("a: 1\nb:\n  c: 2\n  c: 3\n");
    expect(block!.errors.map((e) => [e.code, e.linePos?.[0]])).toEqual([
      ["DUPLICATE_KEY", { line: 4, col: 3 }],
    ]);
    const [flow] = parseYamlDocuments("m: {x: 1, y: 2, x: 3}\n");
    expect(flow!.errors[0]!.message).toMatch(/^Map keys must be unique \("x"\) at line 1, column 17/);
  });

  it("lets the same key appear in different maps and documents", () => {
    const docs = parseYamlDocuments("a: {k: 1}\nb: {k: 2}\n---\na: 3\n");
    expect(docs.map((d) => d.errors.length)).toEqual([0, 0]);
  });

  it("finds what the library's check finds (quoted, numeric, case)", () => {
    for (const text of ['"a": 1\na: 2\n', "1: x\n1: y\n", "a: 1\nA: 2\n"]) {
      const ours = parseYamlDocuments(text)[0]!.errors.length > 0;
      const [theirs] = actual.parseAllDocuments(text) as Yaml.Document.Parsed[];
      expect([text, ours]).toEqual([text, theirs!.errors.length > 0]);
    }
  });
});
