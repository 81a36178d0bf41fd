/** Process figures from /proc: resident memory, CPU time, children, and the machine's load. */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { classifyQemuMemory, parseSmaps, type KernelBootFiles, type QemuMemory } from "./smaps.ts";

/** Memory lines of /proc/<pid>/status, in KiB. */
export interface StatusMemory {
  rssKiB: number;
  /** Peak resident set since the process started. */
  hwmKiB: number;
  rssAnonKiB: number;
  rssFileKiB: number;
}

/** Parses VmRSS, VmHWM, RssAnon and RssFile from the text of /proc/<pid>/status. */
export function parseStatusMemory(text: string): StatusMemory {
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return {
    rssKiB: kib("VmRSS"),
    hwmKiB: kib("VmHWM"),
    rssAnonKiB: kib("RssAnon"),
    rssFileKiB: kib("RssFile"),
  };
}

/** Memory of a live process; undefined once it is gone. */
export function statusMemory(pid: number): StatusMemory | undefined {
  try {
    return parseStatusMemory(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ). */
function clockTicks(): number {
  ticks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return ticks;
}

/** utime + stime of /proc/<pid>/stat (fields 14 and 15), in clock ticks. */
export function parseStatCpuTicks(text: string): number {
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]);
}

/** CPU seconds (user + system) a live process has used; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    return parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8")) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Direct children of a process (all its threads' children). */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8")
        .split(" ")
        .filter((s) => s.trim() !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** The command name (`comm`) of a process. */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Every descendant of `pid`, with its command name. */
export function descendants(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  const todo = childrenOf(pid);
  while (todo.length) {
    const p = todo.shift()!;
    const comm = commOf(p);
    if (comm === undefined) continue;
    out.push({ pid: p, comm });
    todo.push(...childrenOf(p));
  }
  return out;
}

/** QEMU's memory split into guest RAM, TCG cache and the rest (see smaps.ts). */
export function qemuMemory(pid: number, guestBytes: number, kernelBoot?: KernelBootFiles): QemuMemory {
  return classifyQemuMemory(parseSmaps(readFileSync(`/proc/${pid}/smaps`, "utf8")), guestBytes, kernelBoot);
}

/** The machine's state when a figure was taken: other work on these cores skews every timing. */
export interface MachineLoad {
  loadavg: [number, number, number];
  cpus: number;
}

/** Current load averages and CPU count. */
export function machineLoad(): MachineLoad {
  const [a, b, c] = loadavg();
  const round = (n: number | undefined) => Math.round((n ?? 0) * 100) / 100;
  return { loadavg: [round(a), round(b), round(c)], cpus: cpus().length };
}

/** Samples a process's memory and CPU at an interval, keeping the peak (VmHWM misses nothing between samples). */
export class ProcessSampler {
  #timer: NodeJS.Timeout | undefined;
  #peakRssKiB = 0;
  #last: StatusMemory | undefined;
  readonly #cpuAtStart: number;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.#cpuAtStart = cpuSeconds(pid) ?? 0;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    const m = statusMemory(this.pid);
    if (!m) return;
    this.#last = m;
    this.#peakRssKiB = Math.max(this.#peakRssKiB, m.hwmKiB, m.rssKiB);
  }

  /** Current memory (sampled now). */
  now(): StatusMemory | undefined {
    this.#sample();
    return this.#last;
  }

  /** Peak resident memory seen, KiB (VmHWM, so a spike between samples counts too). */
  get peakRssKiB(): number {
    this.#sample();
    return this.#peakRssKiB;
  }

  /** CPU seconds since the sampler started. */
  cpuSecondsSinceStart(): number {
    return (cpuSeconds(this.pid) ?? this.#cpuAtStart) - this.#cpuAtStart;
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
