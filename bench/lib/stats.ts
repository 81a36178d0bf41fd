/** Summary statistics for latency samples. */

/** The p-th percentile (0–100) of `values` by the nearest-rank method; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50/p95/p99, min, max and count of a sample. */
export interface Summary {
  count: number;
  min?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

/** Summarizes `values` (nearest-rank percentiles, so every figure is an observed value). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0 };
  return {
    count: values.length,
    min: Math.min(...values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}
