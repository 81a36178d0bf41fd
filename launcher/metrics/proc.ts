import { z } from "zod";
import { MetricsParseError } from "./errors.ts";

/**
 * Linux reports utime/stime in USER_HZ, which the kernel ABI fixes at 100 on x86 and arm64 whatever
 * CONFIG_HZ is; Node has no sysconf(_SC_CLK_TCK) to ask.
 */
export const USER_HZ = 100;

/** CPU time of a process or thread, from `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`. */
export interface CpuTimes {
  userSeconds: number;
  systemSeconds: number;
  /** User plus system, summed in ticks so the sum has no floating-point noise. */
  totalSeconds: number;
}

const ticks = z.coerce.number().int().nonnegative();

/**
 * Parses utime and stime out of a `stat` file. The command name (field 2) is in parentheses and may itself
 * hold spaces and parentheses, so the fields are counted from the last `)`.
 */
export function parseProcStat(text: string, path: string): CpuTimes {
  const close = text.lastIndexOf(")");
  // After ") " come fields 3 (state) onwards: utime is field 14, stime field 15.
  const rest =
    close < 0
      ? []
      : text
          .slice(close + 2)
          .trim()
          .split(/\s+/);
  const parsed = z.tuple([ticks, ticks]).safeParse([rest[14 - 3], rest[15 - 3]]);
  if (!parsed.success) throw new MetricsParseError(path, "no utime/stime fields", parsed.error);
  const [utime, stime] = parsed.data;
  return {
    userSeconds: utime / USER_HZ,
    systemSeconds: stime / USER_HZ,
    totalSeconds: (utime + stime) / USER_HZ,
  };
}

/** Resident set size in bytes from `/proc/<pid>/status` (`VmRSS:  1234 kB`). */
export function parseResidentBytes(text: string, path: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (match?.[1] === undefined) throw new MetricsParseError(path, "no VmRSS line");
  return Number(match[1]) * 1024;
}
