import { describe, expect, it } from "vitest";
import { MetricsParseError } from "./errors.ts";
import { guestNicStats, readNicStats } from "./net-stats.ts";
import { parseProcStat, parseResidentBytes } from "./proc.ts";
import {
  parseGuestStats,
  parseMemorySizeSummary,
  parseQueryBlockstats,
  parseQueryCpusFast,
  parseQueryStatus,
} from "./qmp-replies.ts";

// Shapes as QEMU 7.2 printed them for the test guest (trimmed to what the parsers read plus a few extras).
const blockstats = (qdev: string, node: string, device = "") => ({
  device,
  qdev,
  "node-name": node,
  stats: {
    rd_bytes: 4608,
    wr_bytes: 1048576,
    rd_operations: 2,
    wr_operations: 16,
    flush_operations: 3,
    rd_total_time_ns: 222001,
    wr_total_time_ns: 6298389,
    flush_total_time_ns: 1_500_000_000,
    failed_rd_operations: 1,
    failed_wr_operations: 0,
    failed_flush_operations: 2,
    account_invalid: true,
    timed_stats: [],
  },
  parent: { stats: {} },
});

describe("procfs parsers", () => {
  it("reads utime and stime past a command name holding spaces and parentheses", () => {
    const stat =
      "16408 (qemu (x) y) S 16364 16328 5836 0 -1 138412416 19361 0 0 0 320 50 0 0 20 0 6 0 119452";
    expect(parseProcStat(stat, "/proc/1/stat")).toEqual({
      userSeconds: 3.2,
      systemSeconds: 0.5,
      totalSeconds: 3.7,
    });
    // 2.5 + 0.51 in floating point is 3.0100000000000002; summed in ticks it is 3.01.
    const noisy = "1 (q) S 1 1 1 0 -1 0 0 0 0 0 250 51 0 0 20 0 6 0 1";
    expect(parseProcStat(noisy, "/proc/1/stat").totalSeconds).toBe(3.01);
  });

  it("rejects a truncated stat file with the path", () => {
    expect(() => parseProcStat("1 (q) S 1 2", "/proc/1/stat")).toThrow(MetricsParseError);
    expect(() => parseProcStat("1 (q) S 1 2", "/proc/1/stat")).toThrow("/proc/1/stat");
  });

  it("converts VmRSS from kB to bytes", () => {
    expect(parseResidentBytes("Name:\tqemu\nVmRSS:\t  232436 kB\nThreads: 6\n", "s")).toBe(232436 * 1024);
    expect(() => parseResidentBytes("Name:\tzombie\n", "s")).toThrow(MetricsParseError);
  });
});

describe("QMP reply parsers", () => {
  it("maps run states and rejects unknown ones", () => {
    expect(parseQueryStatus({ status: "io-error", running: false, singlestep: false })).toBe("io-error");
    expect(() => parseQueryStatus({ status: "dancing" })).toThrow(MetricsParseError);
  });

  it("takes vCPU thread ids from query-cpus-fast", () => {
    const reply = [
      {
        "thread-id": 16416,
        props: { "core-id": 0 },
        "qom-path": "/machine/unattached/device[0]",
        "cpu-index": 0,
      },
      {
        "thread-id": 16417,
        props: { "core-id": 1 },
        "qom-path": "/machine/unattached/device[2]",
        "cpu-index": 1,
      },
    ];
    expect(parseQueryCpusFast(reply)).toEqual([
      { vcpu: "0", threadId: 16416 },
      { vcpu: "1", threadId: 16417 },
    ]);
  });

  it("adds hot-plugged memory to boot memory", () => {
    expect(parseMemorySizeSummary({ "base-memory": 268435456, "plugged-memory": 1024 })).toBe(268436480);
    expect(parseMemorySizeSummary({ "base-memory": 268435456 })).toBe(268435456);
  });

  it("drops balloon statistics the guest does not report (-1) and waits for the first report", () => {
    const stats = {
      "stat-swap-out": 0,
      "stat-available-memory": 197722112,
      "stat-free-memory": 193896448,
      "stat-minor-faults": 5770,
      "stat-major-faults": -1,
      "stat-total-memory": 227700736,
      "stat-swap-in": 0,
      "stat-disk-caches": 5021696,
    };
    expect(parseGuestStats({ stats, "last-update": 1795678416 })).toEqual({
      availableBytes: 227700736,
      unusedBytes: 193896448,
      usableBytes: 197722112,
      cachedBytes: 5021696,
      minorFaults: 5770,
      swapInBytes: 0,
      swapOutBytes: 0,
    });
    expect(parseGuestStats({ stats, "last-update": 0 })).toBeUndefined();
  });

  it("matches blockstats to disks by device id, node name and legacy drive id, in base units", () => {
    const reply = [
      blockstats("/machine/peripheral/disk-root/virtio-backend", "root-fmt"),
      blockstats("/machine/peripheral-anon/device[3]", "data-top"),
      blockstats("/machine/peripheral/old/virtio-backend", "", "drive-legacy"),
      blockstats("/machine/peripheral/pflash", "pflash0"),
    ];
    const drives = parseQueryBlockstats(reply, [
      { name: "root", deviceId: "disk-root" },
      { name: "data", nodeName: "data-top" },
      { name: "legacy", deviceId: "drive-legacy" },
      { name: "gone", deviceId: "missing" },
    ]);
    expect(drives.map((d) => d.drive)).toEqual(["root", "data", "legacy"]);
    expect(drives[0]).toEqual({
      drive: "root",
      readBytes: 4608,
      writeBytes: 1048576,
      readOps: 2,
      writeOps: 16,
      flushOps: 3,
      readSeconds: 0.000222001,
      writeSeconds: 0.006298389,
      flushSeconds: 1.5,
      failedReadOps: 1,
      failedWriteOps: 0,
      failedFlushOps: 2,
    });
  });

  it("rejects a blockstats entry without its counters", () => {
    expect(() => parseQueryBlockstats([{ device: "x", stats: { rd_bytes: 1 } }], [])).toThrow(
      MetricsParseError,
    );
  });
});

describe("tap statistics", () => {
  it("swaps directions: what the tap transmits the guest receives", () => {
    const guest = guestNicStats("default", {
      rx_bytes: 922,
      rx_packets: 11,
      rx_errors: 1,
      rx_dropped: 2,
      tx_bytes: 852,
      tx_packets: 10,
      tx_errors: 3,
      tx_dropped: 4,
    });
    expect(guest).toEqual({
      interface: "default",
      receiveBytes: 852,
      receivePackets: 10,
      receiveErrors: 3,
      receiveDropped: 4,
      transmitBytes: 922,
      transmitPackets: 11,
      transmitErrors: 1,
      transmitDropped: 2,
    });
  });

  it("reads only tap-backed NICs from sysfs and rejects garbage", async () => {
    const files = new Map<string, string>();
    for (const [i, c] of [
      "rx_bytes",
      "rx_packets",
      "rx_errors",
      "rx_dropped",
      "tx_bytes",
      "tx_packets",
      "tx_errors",
      "tx_dropped",
    ].entries()) {
      files.set(`/sys/class/net/tap0/statistics/${c}`, `${i * 10}\n`);
    }
    const reader = {
      readFile: async (p: string) => files.get(p) ?? Promise.reject(new Error(`ENOENT ${p}`)),
    };
    const nics = [
      { name: "default", backend: "tap" as const, tap: "tap0" },
      { name: "user", backend: "passt" as const },
    ];
    const stats = await readNicStats(reader, "/sys/class/net", nics);
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({
      interface: "default",
      receiveBytes: 40,
      transmitBytes: 0,
      transmitDropped: 30,
    });
    files.set("/sys/class/net/tap0/statistics/rx_bytes", "n/a\n");
    await expect(readNicStats(reader, "/sys/class/net", nics)).rejects.toThrow(MetricsParseError);
  });
});
