/** Phase timings of a VM start, as the test observes them (client clock, polling). */

/** One milestone: its name and when it was first seen, in ms since the timeline started. */
export interface Milestone {
  name: string;
  atMs: number;
}

/** Records the first time each milestone is seen. */
export class Timeline {
  readonly #start = Date.now();
  readonly #seen = new Map<string, number>();

  /** Marks `name` as reached now, unless it was reached before. */
  mark(name: string): void {
    if (!this.#seen.has(name)) this.#seen.set(name, Date.now() - this.#start);
  }

  /** Whether `name` was reached. */
  has(name: string): boolean {
    return this.#seen.has(name);
  }

  /** Milestones in the order they were reached. */
  milestones(): Milestone[] {
    return [...this.#seen].map(([name, atMs]) => ({ name, atMs })).sort((a, b) => a.atMs - b.atMs);
  }
}

/** A table of milestones with the time since the start and since the previous one. Pure. */
export function formatTimeline(title: string, milestones: readonly Milestone[]): string {
  const width = Math.max(...milestones.map((m) => m.name.length), 9);
  const rows = milestones.map((m, i) => {
    const step = i === 0 ? m.atMs : m.atMs - (milestones[i - 1] as Milestone).atMs;
    return `  ${m.name.padEnd(width)}  ${(m.atMs / 1000).toFixed(1).padStart(7)} s  (+${(step / 1000).toFixed(1)} s)`;
  });
  return [`${title}`, `  ${"milestone".padEnd(width)}  ${"since start".padStart(9)}`, ...rows].join("\n");
}
