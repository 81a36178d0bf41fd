/**
 * Pure handling of the Prometheus text format for the node's VM-metrics collector: parse one launcher's
 * exposition, pin the identity labels the kubelet vouches for, merge many launchers into one exposition.
 *
 * Hand-written rather than a library: we need exactly one narrow operation (rewrite two labels, keep every
 * value byte for byte, regroup families), and the input comes from a pod we do not trust, so every line is
 * checked against the grammar and anything unexpected drops that launcher's whole exposition.
 */

/** One metric family: its HELP/TYPE and its sample lines, already relabelled. */
export interface Family {
  name: string;
  help: string;
  type: string;
  samples: string[];
}

/** Who a launcher is, as the kubelet's own directory layout says (never as the launcher says). */
export interface PodIdentity {
  namespace: string;
  pod: string;
}

/** Only per-VM series pass: a pod must not inject series of other components (or `up`) into our scrape. */
export const VM_METRIC_PREFIX = "vireo_vm_";
/** Labels the collector sets itself; a launcher's own values of these are replaced. */
export const PINNED_LABELS = ["namespace", "pod"] as const;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Why an exposition was refused (the collector counts these by reason). */
export class ExpositionError extends Error {
  /** Stable code for logs and metrics. */
  readonly code = "BAD_EXPOSITION";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "ExpositionError";
  }
}

/** Escapes a label value for the text format. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/**
 * Splits `a="x",b="y\"z"` into [name, raw escaped value] pairs; undefined when it is not well formed.
 * Values stay escaped: they are written back unchanged.
 */
export function parseLabels(body: string): [string, string][] | undefined {
  const out: [string, string][] = [];
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf("=", i);
    if (eq < 0) return undefined;
    const name = body.slice(i, eq).trim();
    if (!LABEL_NAME.test(name) || body[eq + 1] !== '"') return undefined;
    let j = eq + 2;
    while (j < body.length && body[j] !== '"') j += body[j] === "\\" ? 2 : 1;
    if (j >= body.length) return undefined;
    out.push([name, body.slice(eq + 2, j)]);
    i = j + 1;
    while (body[i] === " ") i++;
    if (i < body.length) {
      if (body[i] !== ",") return undefined;
      i++;
      while (body[i] === " ") i++;
    }
  }
  return out;
}

/** Splits a sample line into name, label body (without braces) and the rest (value, timestamp). */
function splitSample(line: string): { name: string; labels: string; rest: string } | undefined {
  const brace = line.indexOf("{");
  const space = line.indexOf(" ");
  if (brace >= 0 && (space < 0 || brace < space)) {
    // The closing brace is the first `}` outside a quoted value.
    let inQuote = false;
    for (let k = brace + 1; k < line.length; k++) {
      const c = line[k];
      if (inQuote && c === "\\") k++;
      else if (c === '"') inQuote = !inQuote;
      else if (!inQuote && c === "}")
        return {
          name: line.slice(0, brace),
          labels: line.slice(brace + 1, k),
          rest: line.slice(k + 1).trim(),
        };
    }
    return undefined;
  }
  if (space < 0) return undefined;
  return { name: line.slice(0, space), labels: "", rest: line.slice(space + 1).trim() };
}

/** The family a sample belongs to: histogram/summary parts (`_bucket`, `_sum`, `_count`) join their base. */
function belongsTo(sample: string, family: Family | undefined): boolean {
  if (!family) return false;
  if (sample === family.name) return true;
  if (family.type !== "histogram" && family.type !== "summary") return false;
  return ["_bucket", "_sum", "_count"].some((s) => sample === family.name + s);
}

/**
 * Parses one launcher's exposition into families of `vireo_vm_*` samples whose `namespace` and `pod`
 * labels are those of `who`. Families of other names are dropped. Throws ExpositionError on anything
 * outside the text format's grammar, so a malformed or hostile exposition contributes nothing.
 */
export function relabelExposition(text: string, who: PodIdentity): Family[] {
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  let current: Family | undefined;
  const pinned = `namespace="${escapeLabelValue(who.namespace)}",pod="${escapeLabelValue(who.pod)}"`;
  const family = (name: string): Family => {
    let f = byName.get(name);
    if (!f) {
      f = { name, help: "", type: "untyped", samples: [] };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") continue;
    const no = n + 1;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, arg = ""] = m;
      if (!NAME.test(name!)) throw new ExpositionError(no, `bad metric name ${JSON.stringify(name)}`);
      current = family(name!);
      if (kind === "TYPE") {
        if (!TYPES.has(arg)) throw new ExpositionError(no, `unknown type ${JSON.stringify(arg)}`);
        if (current.samples.length > 0) throw new ExpositionError(no, `TYPE of ${name} after its samples`);
        current.type = arg;
      } else current.help = arg;
      continue;
    }
    const s = splitSample(line);
    if (!s || !NAME.test(s.name)) throw new ExpositionError(no, "not a sample line");
    const labels = parseLabels(s.labels);
    if (!labels) throw new ExpositionError(no, `bad labels in ${s.name}`);
    const [value, timestamp, ...extra] = s.rest.split(/\s+/);
    if (!value || !VALUE.test(value) || extra.length > 0 || (timestamp && !/^-?\d+$/.test(timestamp)))
      throw new ExpositionError(no, `bad value in ${s.name}`);
    const f = belongsTo(s.name, current) ? current! : (current = family(s.name));
    const kept = labels
      .filter(([k]) => !(PINNED_LABELS as readonly string[]).includes(k))
      .map(([k, v]) => `${k}="${v}"`);
    f.samples.push(`${s.name}{${[pinned, ...kept].join(",")}} ${s.rest}`);
  }
  return families.filter((f) => f.name.startsWith(VM_METRIC_PREFIX));
}

/**
 * Merges the families of many launchers into one exposition: one HELP/TYPE per family, then every
 * launcher's samples. A launcher whose family has another TYPE than the first one seen loses that family
 * (Prometheus would reject the whole scrape otherwise); `conflicts` counts them.
 */
export function mergeExpositions(sources: readonly Family[][]): { text: string; conflicts: number } {
  const merged = new Map<string, Family>();
  let conflicts = 0;
  for (const families of sources) {
    for (const f of families) {
      const m = merged.get(f.name);
      if (!m) merged.set(f.name, { ...f, samples: [...f.samples] });
      else if (m.type !== f.type) conflicts++;
      else m.samples.push(...f.samples);
    }
  }
  const out: string[] = [];
  for (const f of merged.values()) {
    if (f.help) out.push(`# HELP ${f.name} ${f.help}`);
    out.push(`# TYPE ${f.name} ${f.type}`, ...f.samples);
  }
  return { text: out.length ? out.join("\n") + "\n" : "", conflicts };
}
