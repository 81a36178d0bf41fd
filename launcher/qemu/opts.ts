/**
 * Renders QEMU's `key=value,key=value` option strings. Values double their commas, as QEMU's option parser
 * requires, so a path with a comma cannot smuggle in another option.
 */
export type OptValue = string | number | boolean | undefined;

/** Escapes one option value. */
export function optValue(value: string | number): string {
  return String(value).replaceAll(",", ",,");
}

/** `head,k1=v1,k2=v2`; booleans become on/off and undefined values are left out. */
export function opts(head: string | undefined, fields: Record<string, OptValue>): string {
  const parts = head === undefined ? [] : [head];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === "boolean" ? (v ? "on" : "off") : optValue(v)}`);
  }
  return parts.join(",");
}
