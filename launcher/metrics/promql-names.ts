/**
 * The metric names a PromQL expression reads, for checking dashboards and alerts against the metrics the
 * code defines. A tokenizer, not a parser: the project has no PromQL parser among its dependencies
 * (`@prometheus-io/lezer-promql` would be the one), and names are all this needs. It drops what cannot be a
 * metric name (strings, label matchers, ranges, grouping label lists, Grafana variables, numbers) and keeps
 * identifiers that are neither keywords nor called as functions.
 */

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
  "atan2",
]);

/** Metric names referenced by `expr`, sorted and without duplicates. */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$(?:\{[^}]*\}|\w+)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length);
    if (KEYWORDS.has(name.toLowerCase()) || /^\s*\(/.test(after)) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** The series names a registry metric produces: histograms and summaries add `_bucket`, `_sum`, `_count`. */
export function seriesNames(metric: { name: string; type: string }): string[] {
  switch (metric.type) {
    case "histogram":
      return [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`];
    case "summary":
      return [metric.name, `${metric.name}_sum`, `${metric.name}_count`];
    default:
      return [metric.name];
  }
}
