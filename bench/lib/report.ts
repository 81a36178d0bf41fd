/** The bench's result rows and the table printed from them. Pure. */

/** One figure in the table. */
export interface Row {
  /** What was measured, e.g. "launcher RSS (1 vCPU / 1 GiB)". */
  metric: string;
  /** The figure, formatted with its unit. */
  value: string;
  /** KubeVirt's figure for the same thing, formatted, when there is one. */
  kubevirt?: string;
  /** Vireo ÷ KubeVirt (below 1 is better for costs and times). */
  ratio?: number;
  /** The issue's target, formatted. */
  target?: string;
  /** Whether the target holds; undefined when there is no target. */
  ok?: boolean;
}

/** What a section hands back: table rows, notes for the reader, and everything it measured (for JSON). */
export interface SectionResult {
  section: string;
  rows: Row[];
  notes: string[];
  data: Record<string, unknown>;
}

/** Formats a number with a fixed count of decimals and a unit. */
export function fmt(n: number | undefined, unit: string, decimals = 1): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  return `${n.toFixed(decimals)} ${unit}`.trim();
}

/** A row with a target that holds when `value <= limit`. */
export function atMost(
  metric: string,
  value: number | undefined,
  limit: number,
  unit: string,
  extra: Partial<Row> = {},
  decimals = 1,
): Row {
  return {
    metric,
    value: fmt(value, unit, decimals),
    target: `≤ ${limit} ${unit}`,
    ok: value !== undefined && Number.isFinite(value) && value <= limit,
    ...extra,
  };
}

/** Renders sections as a plain-text table (one header, a rule between sections). */
export function renderTable(sections: readonly SectionResult[]): string {
  const header = ["section", "metric", "vireo", "kubevirt", "ratio", "target", "met"];
  const body: string[][] = [];
  const rules: number[] = [];
  for (const s of sections) {
    if (body.length) rules.push(body.length);
    for (const r of s.rows)
      body.push([
        s.section,
        r.metric,
        r.value,
        r.kubevirt ?? "",
        r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : "",
        r.target ?? "",
        r.ok === undefined ? "" : r.ok ? "yes" : "NO",
      ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [line(header), rule];
  body.forEach((row, i) => {
    if (rules.includes(i)) out.push(rule);
    out.push(line(row));
  });
  return out.join("\n");
}

/** The same rows as a Markdown table (bench/results/README.md, docs/performance.md). */
export function renderMarkdown(sections: readonly SectionResult[]): string {
  const out = [
    "| section | metric | Vireo | KubeVirt | ratio | target | met |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const s of sections)
    for (const r of s.rows)
      out.push(
        `| ${s.section} | ${r.metric} | ${r.value} | ${r.kubevirt ?? ""} | ${
          r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ""
        } | ${r.target ?? ""} | ${r.ok === undefined ? "" : r.ok ? "yes" : "**no**"} |`,
      );
  return out.join("\n");
}
