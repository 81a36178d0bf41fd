import {
  isMap,
  isScalar,
  LineCounter,
  parseAllDocuments,
  visit,
  YAMLParseError,
  type Document,
  type Node,
} from "yaml";

// The yaml library's own duplicate-key check (`uniqueKeys: true`, its default) compares each new key with
// every earlier key of its map: a VM with 40k labels took 32 s to parse. The CLI parses with it off and
// this one pass, a Set per map, does the same check in linear time. Hand-written because the library
// offers no linear variant (a custom `uniqueKeys` function is still called once per earlier key).

/** Keys looked at by the last `parseYamlDocuments` call (a unit test asserts it is linear in the keys). */
export const uniqueKeyWork = { keys: 0 };

function keyText(key: unknown): string {
  if (isScalar(key)) return `s:${String(key.value)}`;
  // A complex key (rare in manifests) is compared by its content, as the library compares collections.
  const json = (key as Node | null)?.toJSON?.();
  return `j:${JSON.stringify(json ?? null)}`;
}

/** Adds a DUPLICATE_KEY error (with its line and column) to `doc` for each key repeating one of its map. */
function checkUniqueKeys(doc: Document, lines: LineCounter): void {
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        uniqueKeyWork.keys++;
        const text = keyText(pair.key);
        if (!seen.has(text)) {
          seen.add(text);
          continue;
        }
        const at = (pair.key as Node | null)?.range?.[0] ?? map.range?.[0] ?? 0;
        const err = new YAMLParseError([at, at + 1], "DUPLICATE_KEY", "Map keys must be unique");
        err.linePos = [lines.linePos(at)];
        err.message += ` (${JSON.stringify(text.slice(2))}) at line ${err.linePos[0].line}, column ${err.linePos[0].col}`;
        doc.errors.push(err);
      }
    },
  });
}

/** parseAllDocuments with duplicate keys refused in linear time (errors in each document's `errors`). */
export function parseYamlDocuments(text: string): Document.Parsed[] {
  uniqueKeyWork.keys = 0;
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const list = [...docs];
  for (const doc of list) if (doc.errors.length === 0) checkUniqueKeys(doc, lines);
  return list;
}
