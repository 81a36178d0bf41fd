/**
 * `npm run gen` writes the values table of charts/vireo/README.md from values.yaml and values.schema.json;
 * `npm run gen:check` (CI) fails when the checked-in README differs, or when a value has no description.
 * Our own generator rather than helm-docs: it runs inside `npm run check` with no Go build (helm-docs would
 * be one more binary to build before the drift check can run), and it takes types from values.schema.json,
 * which Helm enforces, instead of guessing them from the defaults. The table has helm-docs' columns.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spliceValues, valueRows, valuesTable } from "./values-doc.ts";

const chart = join(dirname(fileURLToPath(import.meta.url)), "../../charts/vireo");
const readmePath = join(chart, "README.md");
const schema = JSON.parse(readFileSync(join(chart, "values.schema.json"), "utf8")) as object;
const rows = valueRows(readFileSync(join(chart, "values.yaml"), "utf8"), schema);
const current = readFileSync(readmePath, "utf8");
const next = spliceValues(current, valuesTable(rows));
if (process.argv.includes("--check")) {
  if (current !== next) {
    console.error(`${readmePath} is out of date with values.yaml; run \`npm run gen\` and commit the result`);
    process.exit(1);
  }
  console.log(`chart README up to date (${rows.length} values)`);
} else if (current !== next) {
  writeFileSync(readmePath, next);
  console.log(`wrote ${readmePath} (${rows.length} values)`);
}
