/**
 * Kubernetes resource quantities ("1Gi", "512M", "1.5Gi").
 *
 * Written here because no maintained npm package parses Kubernetes quantities; client-node only carries the
 * string. We need bytes to range-check memory and disk sizes at the edge.
 */

const QUANTITY = /^([+]?[0-9]+(?:\.[0-9]+)?|[+]?\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m|[eE][+-]?[0-9]+)?$/;

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** True when `s` is a syntactically valid Kubernetes quantity. */
export function isQuantity(s: string): boolean {
  return QUANTITY.test(s);
}

/** Parses a quantity into a number of base units (bytes for memory); undefined when malformed. */
export function parseQuantity(s: string): number | undefined {
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const value = Number(m[1]);
  const suffix = m[2] ?? "";
  const mult = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  if (mult === undefined || !Number.isFinite(value)) return undefined;
  return value * mult;
}

/** Formats bytes as the largest exact binary quantity ("1Gi", "1536Mi", "100"). */
export function formatBytes(bytes: number): string {
  for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    const unit = SUFFIX[suffix]!;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}
