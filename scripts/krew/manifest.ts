/**
 * Prints the krew manifest for a built archive: `tsx scripts/krew/manifest.ts --archive FILE [--uri URL]`.
 * The default URI is the release download location; tests pass a file:// URI.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { krewManifest } from "./krew-manifest.ts";

const { values } = parseArgs({ options: { archive: { type: "string" }, uri: { type: "string" } } });
if (!values.archive) {
  console.error("usage: tsx scripts/krew/manifest.ts --archive FILE [--uri URL]");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
const sha256 = createHash("sha256").update(readFileSync(values.archive)).digest("hex");
const uri = values.uri ?? `https://vireo.dev/releases/v${version}/${basename(values.archive)}`;
process.stdout.write(stringify(krewManifest({ version, uri, sha256 }), { lineWidth: 0 }));
