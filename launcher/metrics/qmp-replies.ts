import { z } from "zod";
import { MetricsParseError } from "./errors.ts";
import type { MetricsDisk } from "./source.ts";

// QMP replies carry many more fields than we read; the schemas are loose on purpose so a newer QEMU that
// adds fields keeps working, and strict on the fields we turn into numbers.

const count = z.number().int().nonnegative();

function parse<T>(schema: z.ZodType<T>, reply: unknown, command: string): T {
  const parsed = schema.safeParse(reply);
  if (!parsed.success) throw new MetricsParseError(command, "unexpected QMP reply", parsed.error);
  return parsed.data;
}

/** QEMU's run states (QAPI `RunState`) plus `stopped` for "no QEMU process". */
export const VM_STATES = [
  "running",
  "paused",
  "shutdown",
  "io-error",
  "internal-error",
  "guest-panicked",
  "suspended",
  "watchdog",
  "prelaunch",
  "inmigrate",
  "postmigrate",
  "finish-migrate",
  "restore-vm",
  "save-vm",
  "debug",
  "colo",
  "stopped",
] as const;

/** One of {@link VM_STATES}. */
export type VmState = (typeof VM_STATES)[number];

/** The run state from `query-status`. */
export function parseQueryStatus(reply: unknown): VmState {
  return parse(z.looseObject({ status: z.enum(VM_STATES) }), reply, "query-status").status;
}

/** A vCPU and the host thread that runs it. */
export interface VcpuThread {
  /** `cpu-index` as a string (the `vcpu` label). */
  vcpu: string;
  threadId: number;
}

/** vCPU threads from `query-cpus-fast`. */
export function parseQueryCpusFast(reply: unknown): VcpuThread[] {
  const cpus = parse(
    z.array(z.looseObject({ "cpu-index": count, "thread-id": z.number().int().positive() })),
    reply,
    "query-cpus-fast",
  );
  return cpus.map((cpu) => ({ vcpu: String(cpu["cpu-index"]), threadId: cpu["thread-id"] }));
}

/** Guest memory size from `query-memory-size-summary`: boot memory plus hot-plugged memory. */
export function parseMemorySizeSummary(reply: unknown): number {
  const summary = parse(
    z.looseObject({ "base-memory": count, "plugged-memory": count.optional() }),
    reply,
    "query-memory-size-summary",
  );
  return summary["base-memory"] + (summary["plugged-memory"] ?? 0);
}

/** Current balloon size (memory the guest may use) from `query-balloon`. */
export function parseQueryBalloon(reply: unknown): number {
  return parse(z.looseObject({ actual: count }), reply, "query-balloon").actual;
}

/** What the guest's balloon driver reports; a field is absent when the guest does not report it. */
export interface BalloonStats {
  /** Memory the guest can use in total (`stat-total-memory`). */
  availableBytes?: number;
  /** Memory left completely unused (`stat-free-memory`). */
  unusedBytes?: number;
  /** Memory usable without swapping, MemAvailable (`stat-available-memory`). */
  usableBytes?: number;
  /** Page cache that could be reclaimed (`stat-disk-caches`). */
  cachedBytes?: number;
  majorFaults?: number;
  minorFaults?: number;
  swapInBytes?: number;
  swapOutBytes?: number;
}

// The guest reports -1 (or leaves the initial -1) for statistics it does not provide.
const stat = z.number().int();

/** Balloon statistics from `qom-get <balloon> guest-stats`; undefined before the guest's first report. */
export function parseGuestStats(reply: unknown): BalloonStats | undefined {
  const { stats, "last-update": lastUpdate } = parse(
    z.looseObject({ stats: z.record(z.string(), stat), "last-update": z.number().int() }),
    reply,
    "qom-get guest-stats",
  );
  if (lastUpdate === 0) return undefined;
  const get = (key: string): number | undefined => {
    const value = stats[key];
    return value === undefined || value < 0 ? undefined : value;
  };
  const result: BalloonStats = {};
  const fields: [keyof BalloonStats, string][] = [
    ["availableBytes", "stat-total-memory"],
    ["unusedBytes", "stat-free-memory"],
    ["usableBytes", "stat-available-memory"],
    ["cachedBytes", "stat-disk-caches"],
    ["majorFaults", "stat-major-faults"],
    ["minorFaults", "stat-minor-faults"],
    ["swapInBytes", "stat-swap-in"],
    ["swapOutBytes", "stat-swap-out"],
  ];
  for (const [field, key] of fields) {
    const value = get(key);
    if (value !== undefined) result[field] = value;
  }
  return result;
}

/** I/O counters of one guest disk, in base units. */
export interface DriveStats {
  drive: string;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
  flushOps: number;
  readSeconds: number;
  writeSeconds: number;
  flushSeconds: number;
  failedReadOps: number;
  failedWriteOps: number;
  failedFlushOps: number;
}

const blockStatsSchema = z.looseObject({
  rd_bytes: count,
  wr_bytes: count,
  rd_operations: count,
  wr_operations: count,
  flush_operations: count,
  rd_total_time_ns: count,
  wr_total_time_ns: count,
  flush_total_time_ns: count,
  failed_rd_operations: count.optional(),
  failed_wr_operations: count.optional(),
  failed_flush_operations: count.optional(),
});

const blockEntrySchema = z.looseObject({
  device: z.string().optional(),
  qdev: z.string().optional(),
  "node-name": z.string().optional(),
  stats: blockStatsSchema,
});

/**
 * Per-disk counters from `query-blockstats`. Each entry is a BlockBackend (what the guest device talks to),
 * so its stats count the guest's requests, not the image format's extra reads and writes. Entries are
 * matched to disks by device id (`qdev` is `/machine/peripheral/<id>` or `/machine/peripheral/<id>/...`),
 * then by top node name, then by the legacy `-drive id` (`device`); entries of no known disk (a CD-ROM
 * tray without a spec disk, the firmware's pflash) are dropped.
 */
export function parseQueryBlockstats(reply: unknown, disks: readonly MetricsDisk[]): DriveStats[] {
  const entries = parse(z.array(blockEntrySchema), reply, "query-blockstats");
  const result: DriveStats[] = [];
  for (const disk of disks) {
    const entry =
      entries.find((e) => disk.deviceId !== undefined && qdevId(e.qdev) === disk.deviceId) ??
      entries.find((e) => disk.nodeName !== undefined && e["node-name"] === disk.nodeName) ??
      entries.find((e) => disk.deviceId !== undefined && e.device === disk.deviceId);
    if (entry === undefined) continue;
    const s = entry.stats;
    result.push({
      drive: disk.name,
      readBytes: s.rd_bytes,
      writeBytes: s.wr_bytes,
      readOps: s.rd_operations,
      writeOps: s.wr_operations,
      flushOps: s.flush_operations,
      readSeconds: s.rd_total_time_ns / 1e9,
      writeSeconds: s.wr_total_time_ns / 1e9,
      flushSeconds: s.flush_total_time_ns / 1e9,
      failedReadOps: s.failed_rd_operations ?? 0,
      failedWriteOps: s.failed_wr_operations ?? 0,
      failedFlushOps: s.failed_flush_operations ?? 0,
    });
  }
  return result;
}

function qdevId(qdev: string | undefined): string | undefined {
  const match = qdev === undefined ? null : /^\/machine\/peripheral\/([^/]+)/.exec(qdev);
  return match?.[1] ?? qdev;
}
