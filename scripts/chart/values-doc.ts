/**
 * The values table of a chart README, helm-docs style: one row per value with its key, type, default and
 * description. Descriptions come from `# --` comments above a key in values.yaml (helm-docs' convention; a
 * commented map is one row, as in helm-docs), else from values.schema.json's `description`; types from the
 * schema (what Helm enforces), else from the default. A value with no description is an error, so a new
 * value cannot land undocumented. Pure: readme.ts reads and writes the files.
 */
import { isMap, isScalar, parseDocument, type YAMLMap } from "yaml";

/** One documented value. */
export interface ValueRow {
  key: string;
  type: string;
  /** The default as JSON (helm-docs shows it the same way). */
  default: string;
  description: string;
}

/** The subset of JSON Schema the table reads. */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Thrown for a value the table cannot document; `path` is the value's key. */
export class ValuesDocError extends Error {
  readonly code = "VALUES_UNDOCUMENTED";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "ValuesDocError";
  }
}

/** The text of the last `# --` comment in a comment block (with the lines that follow it), if any. */
export function helmDocsComment(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split("\n").map((l) => l.trim());
  const start = lines.map((l) => l.startsWith("--")).lastIndexOf(true);
  if (start < 0) return undefined;
  const text = [lines[start]!.slice(2), ...lines.slice(start + 1)]
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" ");
  return text === "" ? undefined : text;
}

function schemaType(schema: Schema | undefined, value: unknown): string {
  if (schema?.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  const t = Array.isArray(schema?.type) ? schema.type.join(" \\| ") : schema?.type;
  const item = schema?.items;
  if (t === "array" && item)
    return `${item.type ?? (item.enum?.every((v) => typeof v === "string") ? "string" : "")}[]`;
  if (t) return t;
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value;
}

/**
 * The rows of values.yaml's text, in file order. `schema` is values.schema.json's root object.
 * Throws ValuesDocError, naming every value that has no description in either place.
 */
export function valueRows(valuesYaml: string, schema: Schema): ValueRow[] {
  const doc = parseDocument(valuesYaml);
  if (doc.errors.length > 0) throw new ValuesDocError("values.yaml", doc.errors[0]!.message);
  const rows: ValueRow[] = [];
  const undocumented: string[] = [];
  const walk = (map: YAMLMap, prefix: string, schemaAt: Schema | undefined) => {
    map.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const path = prefix ? `${prefix}.${key}` : key;
      const sub = schemaAt?.properties?.[key];
      // The yaml parser puts the comment above a map's first key on the map itself.
      const comment = helmDocsComment(
        (isScalar(pair.key) ? pair.key.commentBefore : undefined) ??
          (i === 0 ? map.commentBefore : undefined),
      );
      const value: unknown =
        isMap(pair.value) || isScalar(pair.value)
          ? pair.value.toJSON()
          : (pair.value as { toJSON?: () => unknown })?.toJSON?.();
      if (isMap(pair.value) && pair.value.items.length > 0 && comment === undefined) {
        walk(pair.value, path, sub);
        return;
      }
      const description = comment ?? sub?.description;
      if (!description) {
        undocumented.push(path);
        return;
      }
      rows.push({
        key: path,
        type: schemaType(sub, value),
        default: JSON.stringify(value ?? null),
        description,
      });
    });
  };
  if (!isMap(doc.contents)) throw new ValuesDocError("values.yaml", "the top level is not a map");
  walk(doc.contents, "", schema);
  if (undocumented.length > 0)
    throw new ValuesDocError(
      undocumented.join(", "),
      "no `# --` comment in values.yaml and no description in values.schema.json",
    );
  return rows;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown table of the rows. */
export function valuesTable(rows: ValueRow[]): string {
  const lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"];
  for (const r of rows) {
    // Types are escaped where they are built (enums use \| already).
    lines.push(`| \`${r.key}\` | ${r.type} | \`${cell(r.default)}\` | ${cell(r.description)} |`);
  }
  return lines.join("\n") + "\n";
}

/** Markers around the generated part of a README. */
export const VALUES_START =
  "<!-- values:start (generated by `npm run gen` from values.yaml and values.schema.json) -->";
export const VALUES_END = "<!-- values:end -->";

/** The README with the part between the markers replaced by `table`. */
export function spliceValues(readme: string, table: string): string {
  const start = readme.indexOf(VALUES_START);
  const end = readme.indexOf(VALUES_END);
  if (start < 0 || end < start)
    throw new ValuesDocError("README.md", `missing the markers ${VALUES_START} … ${VALUES_END}`);
  return readme.slice(0, start + VALUES_START.length) + "\n\n" + table + "\n" + readme.slice(end);
}
