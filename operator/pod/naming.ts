import { createHash } from "node:crypto";

const MAX_LABEL = 63;

/**
 * A DNS-1123 label `prefix-name` for pod volumes and containers, shortened with a hash suffix when the
 * volume's own name (already up to 63 characters) would push it to 63 or past.
 *
 * A shortened name is always exactly 63 characters and a kept one at most 62, so a volume cannot be named
 * to land on another volume's shortened name (two pod volumes of one name, which the API server refuses).
 * `--` before the hash is a valid label, so the head keeps its trailing hyphens to keep the length.
 */
export function podLocalName(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  if (full.length < MAX_LABEL) return full;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const head = name.slice(0, MAX_LABEL - prefix.length - hash.length - 2);
  return `${prefix}-${head}-${hash}`;
}
