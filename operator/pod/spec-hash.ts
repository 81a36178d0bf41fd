import { createHash } from "node:crypto";
import type { VmSpec } from "../../crds/api/spec.ts";

/** JSON with object keys sorted, so equal values hash equally whatever order a user wrote them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Hash of everything in the (defaulted) spec that shapes the launcher pod: all of it except `runStrategy`,
 * which only decides whether a pod exists. Stored on the pod; a VM whose hash differs from its running pod's
 * reports RestartRequired.
 */
export function launcherSpecHash(spec: VmSpec): string {
  const { runStrategy: _ignored, ...rest } = spec;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex").slice(0, 16);
}
