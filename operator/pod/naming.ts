import { createHash } from "node:crypto";

const MAX_LABEL = 63;

/**
 * A DNS-1123 label `prefix-name` for pod volumes and containers, shortened with a hash suffix when the VM's
 * own name (already up to 63 characters) would push it past 63.
 */
export function podLocalName(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  if (full.length <= MAX_LABEL) return full;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const head = name.slice(0, MAX_LABEL - prefix.length - hash.length - 2).replace(/-+$/, "");
  return `${prefix}-${head}-${hash}`;
}
