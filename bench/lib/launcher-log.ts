/**
 * The launcher's pino JSON lines, read for the start path: each phase mark carries `phase` and
 * `sinceStartMs` (milliseconds since the launcher process started, from performance.now()).
 */

/**
 * Phases the launcher marks on its way to a running guest, in the order it passes them (the KVM probe runs
 * alongside disks and network; its verdict is marked after them).
 */
export const PHASES = ["config", "disks", "network", "preflight", "qemu-spawned", "qmp", "running"] as const;
/** One of {@link PHASES}. */
export type Phase = (typeof PHASES)[number];

/** One parsed log line (only what the bench reads). */
export interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  phase?: string;
  sinceStartMs?: number;
  pid?: number;
  [k: string]: unknown;
}

/** Parses a JSON log line; undefined for anything else (QEMU's own stderr relayed raw, blank lines). */
export function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/** The phase marks found in `lines`: phase → ms since the launcher started (first mark of each phase). */
export function phaseMarks(lines: readonly LogLine[]): Partial<Record<Phase, number>> {
  const out: Partial<Record<Phase, number>> = {};
  for (const l of lines) {
    if (typeof l.phase !== "string" || typeof l.sinceStartMs !== "number") continue;
    if (!(PHASES as readonly string[]).includes(l.phase)) continue;
    const p = l.phase as Phase;
    if (out[p] === undefined) out[p] = l.sinceStartMs;
  }
  return out;
}

/** Splits a stream of chunks into whole lines. */
export class LineSplitter {
  #partial = "";

  /** Feeds a chunk; returns the complete lines it finished. */
  push(chunk: string): string[] {
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    return lines;
  }
}
