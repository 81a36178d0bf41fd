import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  helmDocsComment,
  spliceValues,
  VALUES_END,
  VALUES_START,
  valueRows,
  valuesTable,
  ValuesDocError,
} from "./values-doc.ts";

const schema = {
  type: "object",
  properties: {
    level: { enum: ["info", "debug"], description: "from the schema" },
    images: {
      type: "object",
      properties: {
        repository: { type: "string", description: "Image repository." },
        pullSecrets: { type: "array", items: { type: "string" } },
      },
    },
    devices: { type: "array", items: { enum: ["kvm", "tun"] } },
  },
};

describe("chart values table", () => {
  it("takes the last `# --` comment with its continuation lines, ignoring other comments", () => {
    expect(helmDocsComment(" A section heading.\n\n -- The value.\n continued here.")).toBe(
      "The value. continued here.",
    );
    expect(helmDocsComment(" only a heading")).toBeUndefined();
    expect(helmDocsComment(undefined)).toBeUndefined();
  });

  it("documents every leaf with type, default and description; a commented map is one row", () => {
    const values = [
      "# -- The log level.",
      "level: info",
      "# Images (a heading, not a description).",
      "images:",
      "  # -- Pull Secrets (names).",
      "  pullSecrets: []",
      "  repository: localhost/vireo",
      "# -- Devices to offer.",
      "devices: [kvm, tun]",
      "# -- Resources (ResourceRequirements).",
      "resources:",
      "  limits:",
      "    memory: 1Gi",
      "",
    ].join("\n");
    expect(valueRows(values, schema)).toEqual([
      { key: "level", type: '"info" \\| "debug"', default: '"info"', description: "The log level." },
      { key: "images.pullSecrets", type: "string[]", default: "[]", description: "Pull Secrets (names)." },
      {
        key: "images.repository",
        type: "string",
        default: '"localhost/vireo"',
        description: "Image repository.",
      },
      { key: "devices", type: "string[]", default: '["kvm","tun"]', description: "Devices to offer." },
      {
        key: "resources",
        type: "object",
        default: '{"limits":{"memory":"1Gi"}}',
        description: "Resources (ResourceRequirements).",
      },
    ]);
  });

  it("names every undocumented value", () => {
    const err = (() => {
      try {
        valueRows("a: 1\nb:\n  c: x\n", {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValuesDocError);
    expect((err as ValuesDocError).path).toBe("a, b.c");
  });

  it("renders a Markdown table and splices it between the markers only", () => {
    const table = valuesTable([{ key: "a", type: "string", default: '"x|y"', description: "one | two" }]);
    expect(table).toBe(
      '| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n| `a` | string | `"x\\|y"` | one \\| two |\n',
    );
    const readme = `# t\n\n${VALUES_START}\nold\n${VALUES_END}\ntail\n`;
    expect(spliceValues(readme, table)).toBe(`# t\n\n${VALUES_START}\n\n${table}\n${VALUES_END}\ntail\n`);
    expect(() => spliceValues("# no markers", table)).toThrow(ValuesDocError);
  });

  it("documents every value of charts/vireo", () => {
    const rows = valueRows(
      readFileSync("charts/vireo/values.yaml", "utf8"),
      JSON.parse(readFileSync("charts/vireo/values.schema.json", "utf8")),
    );
    expect(rows.map((r) => r.key)).toContain("operator.replicas");
    for (const r of rows) expect(r.description.length, r.key).toBeGreaterThan(5);
  });
});
