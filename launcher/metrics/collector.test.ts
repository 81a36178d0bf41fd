import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { VM_METRIC_NAMES } from "./catalog.ts";
import { VmMetricsCollector, type CollectorOptions } from "./collector.ts";
import { registerVmMetrics } from "./register.ts";
import type { HostFiles, MetricsDisk, MetricsNic, VmIdentity, VmMetricsSource } from "./source.ts";

type Args = Record<string, unknown> | undefined;
/** A canned reply, or a function of the command's arguments. */
type Reply = { fn: (args: Args) => unknown } | { value: unknown };

/** A launcher whose QEMU answers QMP from a table, or hangs. */
class FakeVm implements VmMetricsSource {
  pid: number | undefined = 4242;
  /** `never`: QMP never answers; `timeout`: it answers nothing but the client gives up after timeoutMs. */
  hang: "no" | "never" | "timeout" = "no";
  calls: { command: string; args: Record<string, unknown> | undefined }[] = [];
  accelerator = "tcg";
  nicList: MetricsNic[] = [
    { name: "default", backend: "tap", tap: "tap0" },
    { name: "user", backend: "passt" },
  ];
  diskList: MetricsDisk[] = [{ name: "root", deviceId: "disk-root" }];
  balloon: string | undefined = "/machine/peripheral/balloon0";
  pollInterval = 0;
  replies: Record<string, Reply> = {
    "query-status": { value: { status: "running", running: true } },
    "query-cpus-fast": {
      value: [
        { "cpu-index": 0, "thread-id": 101 },
        { "cpu-index": 1, "thread-id": 102 },
      ],
    },
    "query-memory-size-summary": { value: { "base-memory": 1 << 30 } },
    "query-balloon": { value: { actual: 1 << 29 } },
    "query-blockstats": {
      value: [blockEntry("/machine/peripheral/disk-root/virtio-backend", 4096, 8192, 1)],
    },
    "qom-get": {
      fn: (args) =>
        args?.property === "guest-stats-polling-interval"
          ? this.pollInterval
          : {
              stats: {
                "stat-total-memory": 1000,
                "stat-free-memory": 100,
                "stat-available-memory": 600,
                "stat-disk-caches": 300,
                "stat-major-faults": 7,
                "stat-minor-faults": 70,
                "stat-swap-in": -1,
                "stat-swap-out": -1,
              },
              "last-update": 1700000000,
            },
    },
    "qom-set": {
      fn: (args) => {
        this.pollInterval = Number(args?.value);
        return {};
      },
    },
  };

  identity(): VmIdentity {
    return {
      namespace: "prod",
      name: "web",
      machine: "q35",
      firmware: "bios",
      accelerator: this.accelerator,
    };
  }
  qemuPid(): number | undefined {
    return this.pid;
  }
  nics(): readonly MetricsNic[] {
    return this.nicList;
  }
  disks(): readonly MetricsDisk[] {
    return this.diskList;
  }
  balloonQomPath(): string | undefined {
    return this.balloon;
  }
  qmp = (command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> => {
    this.calls.push({ command, args });
    if (this.hang === "never") return new Promise(() => undefined);
    if (this.hang === "timeout") {
      return new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${command}: timeout`)), timeoutMs),
      );
    }
    const reply = this.replies[command];
    if (reply === undefined) return Promise.reject(new Error(`GenericError: unknown command ${command}`));
    try {
      return Promise.resolve("fn" in reply ? reply.fn(args) : reply.value);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  count(command: string): number {
    return this.calls.filter((c) => c.command === command).length;
  }
}

function blockEntry(qdev: string, rd: number, wr: number, failedWr: number) {
  return {
    device: "",
    qdev,
    stats: {
      rd_bytes: rd,
      wr_bytes: wr,
      rd_operations: 1,
      wr_operations: 2,
      flush_operations: 3,
      rd_total_time_ns: 1e6,
      wr_total_time_ns: 2e6,
      flush_total_time_ns: 3e9,
      failed_rd_operations: 0,
      failed_wr_operations: failedWr,
      failed_flush_operations: 0,
    },
  };
}

/** procfs and sysfs as a map; utime/stime in ticks. */
class FakeHost implements HostFiles {
  files = new Map<string, string>();
  constructor() {
    this.setStat("/proc/4242/stat", 500, 100);
    this.setStat("/proc/4242/task/101/stat", 200, 10);
    this.setStat("/proc/4242/task/102/stat", 150, 5);
    this.files.set("/proc/4242/status", "Name:\tqemu-system-x86\nVmRSS:\t  2048 kB\n");
    this.setTap("tap0", { rx_bytes: 922, tx_bytes: 852, rx_packets: 11, tx_packets: 10 });
  }
  setStat(path: string, utime: number, stime: number): void {
    this.files.set(path, `1 (qemu-system-x86) S 1 1 1 0 -1 0 0 0 0 0 ${utime} ${stime} 0 0 20 0 6 0 1`);
  }
  setTap(tap: string, values: Record<string, number>): void {
    for (const c of [
      "rx_bytes",
      "rx_packets",
      "rx_errors",
      "rx_dropped",
      "tx_bytes",
      "tx_packets",
      "tx_errors",
      "tx_dropped",
    ]) {
      this.files.set(`/sys/class/net/${tap}/statistics/${c}`, `${values[c] ?? 0}\n`);
    }
  }
  readFile = async (path: string): Promise<string> => {
    const text = this.files.get(path);
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
    return text;
  };
}

function setup(options: CollectorOptions = {}) {
  const vm = new FakeVm();
  const host = new FakeHost();
  const errors: string[] = [];
  const collector = new VmMetricsCollector(vm, {
    files: host,
    deadlineMs: 200,
    now: () => 1_700_000_000_000,
    onError: (source) => errors.push(source),
    ...options,
  });
  const registry = new Registry();
  registerVmMetrics(registry, collector);
  return { vm, host, collector, registry, errors };
}

type Scrape = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** One scrape (reading the registry collects, so each call is one more collection). */
function scrape(registry: Registry): Promise<Scrape> {
  return registry.getMetricsAsJSON();
}

/** A metric's samples keyed by their labels besides namespace/name, which are checked on the way. */
function series(scraped: Scrape, name: string): Record<string, number> {
  const metric = scraped.find((m) => m.name === name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const out: Record<string, number> = {};
  for (const v of metric.values) {
    const { namespace, name: vmName, ...rest } = v.labels as Record<string, string>;
    expect({ namespace, name: vmName }).toEqual({ namespace: "prod", name: "web" });
    out[
      Object.entries(rest)
        .map(([k, val]) => `${k}=${val}`)
        .join(",")
    ] = v.value;
  }
  return out;
}

function errorsBySource(scraped: Scrape): Record<string, number> {
  return series(scraped, "vireo_vm_scrape_errors_total");
}

describe("VM metrics from a healthy QEMU", () => {
  it("exports every catalogued metric with namespace and name, in base units", async () => {
    const { registry } = setup({ balloonStatsPollSeconds: 5 });
    const text = await registry.metrics();
    for (const name of VM_METRIC_NAMES) {
      // The swap counters are absent: the fake guest reports -1 for them.
      if (name.includes("_swap_")) continue;
      expect(text, name).toMatch(new RegExp(`^${name}\\{namespace="prod",name="web"`, "m"));
    }
    const m = await scrape(registry);
    expect(series(m, "vireo_vm_info")).toEqual({ "machine=q35,firmware=bios,accelerator=tcg": 1 });
    const state = series(m, "vireo_vm_state");
    expect(state["state=running"]).toBe(1);
    expect(Object.values(state).reduce((a, b) => a + b)).toBe(1);
    expect(series(m, "vireo_vm_vcpu_seconds_total")).toEqual({ "vcpu=0": 2.1, "vcpu=1": 1.55 });
    expect(series(m, "vireo_vm_cpu_usage_seconds_total")).toEqual({ "": 6 });
    expect(series(m, "vireo_vm_cpu_user_usage_seconds_total")).toEqual({ "": 5 });
    expect(series(m, "vireo_vm_memory_resident_bytes")).toEqual({ "": 2048 * 1024 });
    expect(series(m, "vireo_vm_memory_domain_bytes")).toEqual({ "": 1 << 30 });
    expect(series(m, "vireo_vm_memory_actual_balloon_bytes")).toEqual({ "": 1 << 29 });
    expect(series(m, "vireo_vm_memory_usable_bytes")).toEqual({ "": 600 });
    expect(series(m, "vireo_vm_memory_pgmajfault_total")).toEqual({ "": 7 });
    expect(series(m, "vireo_vm_network_receive_bytes_total")).toEqual({ "interface=default": 852 });
    expect(series(m, "vireo_vm_network_transmit_packets_total")).toEqual({ "interface=default": 11 });
    expect(series(m, "vireo_vm_storage_write_traffic_bytes_total")).toEqual({ "drive=root": 8192 });
    expect(series(m, "vireo_vm_storage_flush_times_seconds_total")).toEqual({ "drive=root": 3 });
    expect(series(m, "vireo_vm_storage_failed_operations_total")).toEqual({
      "drive=root,operation=read": 0,
      "drive=root,operation=write": 1,
      "drive=root,operation=flush": 0,
    });
    expect(errorsBySource(m)).toEqual({
      "source=status": 0,
      "source=vcpus": 0,
      "source=process": 0,
      "source=memory": 0,
      "source=blockstats": 0,
      "source=network": 0,
    });
  });

  it("asks QEMU once per scrape, not once per metric", async () => {
    const { vm, registry } = setup();
    await registry.metrics();
    expect(vm.count("query-status")).toBe(1);
    expect(vm.count("query-blockstats")).toBe(1);
    await registry.metrics();
    expect(vm.count("query-status")).toBe(2);
  });

  it("turns on balloon statistics polling once per QEMU", async () => {
    const { vm, registry } = setup({ balloonStatsPollSeconds: 5 });
    await registry.metrics();
    await registry.metrics();
    expect(vm.pollInterval).toBe(5);
    expect(vm.count("qom-set")).toBe(1);
    vm.pid = 4243;
    vm.pollInterval = 0;
    await registry.metrics();
    expect(vm.count("qom-set")).toBe(2);
  });

  it("reports no guest memory statistics, and no error, before the guest's first balloon report", async () => {
    const { vm, registry } = setup();
    vm.replies["qom-get"] = {
      fn: () => {
        throw new Error("GenericError: guest hasn't updated any stats yet");
      },
    };
    const m = await scrape(registry);
    expect(series(m, "vireo_vm_memory_usable_bytes")).toEqual({});
    expect(series(m, "vireo_vm_memory_actual_balloon_bytes")).toEqual({ "": 1 << 29 });
    expect(errorsBySource(m)["source=memory"]).toBe(0);
  });

  it("reads no balloon without a balloon device", async () => {
    const { vm, registry } = setup({ balloonStatsPollSeconds: 5 });
    vm.balloon = undefined;
    const m = await scrape(registry);
    expect(vm.count("query-balloon")).toBe(0);
    expect(vm.count("qom-get")).toBe(0);
    expect(series(m, "vireo_vm_memory_domain_bytes")).toEqual({ "": 1 << 30 });
    expect(series(m, "vireo_vm_memory_actual_balloon_bytes")).toEqual({});
  });

  it("drops the series of a disk that went away", async () => {
    const { vm, registry } = setup();
    expect(series(await scrape(registry), "vireo_vm_storage_read_traffic_bytes_total")).toEqual({
      "drive=root": 4096,
    });
    vm.diskList = [];
    expect(series(await scrape(registry), "vireo_vm_storage_read_traffic_bytes_total")).toEqual({});
  });
});

describe("VM metrics without QEMU", () => {
  it("says stopped and exports nothing that needs a QEMU, without errors", async () => {
    const { vm, registry } = setup();
    vm.pid = undefined;
    const m = await scrape(registry);
    expect(series(m, "vireo_vm_state")["state=stopped"]).toBe(1);
    expect(series(m, "vireo_vm_info")).toEqual({ "machine=q35,firmware=bios,accelerator=tcg": 1 });
    expect(series(m, "vireo_vm_vcpu_seconds_total")).toEqual({});
    expect(series(m, "vireo_vm_network_receive_bytes_total")).toEqual({});
    expect(vm.calls).toEqual([]);
    expect(Object.values(errorsBySource(m)).every((n) => n === 0)).toBe(true);
  });
});

describe("VM metrics while QMP hangs", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers within the deadline when QMP never answers: QMP may use three quarters of it", async () => {
    vi.useFakeTimers();
    const { vm, registry } = setup({ deadlineMs: 2000 });
    vm.hang = "never";
    let text: string | undefined;
    void registry.metrics().then((t) => (text = t));
    await vi.advanceTimersByTimeAsync(1499);
    expect(text).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(text).toMatch(/^vireo_vm_scrape_errors_total\{namespace="prod",name="web",source="status"\} 1$/m);
    // The procfs values did not wait for QMP.
    expect(text).toContain('vireo_vm_cpu_usage_seconds_total{namespace="prod",name="web"} 6');
  });

  it("answers with the last known values and counts the failures", async () => {
    const { vm, host, registry, errors } = setup();
    await scrape(registry);
    vm.hang = "never";
    host.setStat("/proc/4242/task/101/stat", 400, 10);
    host.setTap("tap0", { rx_bytes: 5000, tx_bytes: 6000 });
    vm.replies["query-blockstats"] = {
      value: [blockEntry("/machine/peripheral/disk-root/virtio-backend", 1, 1, 0)],
    };

    // QMP never answers, yet the text comes back (the test's own timeout is the bound).
    const text = await registry.metrics();
    expect(text).toContain('vireo_vm_state{namespace="prod",name="web",state="running"} 1');
    expect(text).toContain(
      'vireo_vm_storage_write_traffic_bytes_total{namespace="prod",name="web",drive="root"} 8192',
    );
    expect(text).toMatch(/^vireo_vm_scrape_errors_total\{namespace="prod",name="web",source="status"\} 1$/m);

    const m = await scrape(registry);
    // Last known QMP values...
    expect(series(m, "vireo_vm_storage_write_traffic_bytes_total")).toEqual({ "drive=root": 8192 });
    // ...while procfs and sysfs stay fresh: vCPU times use the thread ids QMP gave before.
    expect(series(m, "vireo_vm_vcpu_seconds_total")["vcpu=0"]).toBe(4.1);
    expect(series(m, "vireo_vm_network_receive_bytes_total")).toEqual({ "interface=default": 6000 });
    // The hung calls are still pending: the second scrape did not stack new ones behind them, but it
    // counted its failures too.
    expect(vm.count("query-status")).toBe(2);
    expect(errorsBySource(m)).toEqual({
      "source=status": 2,
      "source=vcpus": 2,
      "source=memory": 2,
      "source=blockstats": 2,
      "source=process": 0,
      "source=network": 0,
    });
    expect(errors.filter((s) => s === "status")).toHaveLength(2);
  });

  it("keeps asking a QMP client that gives up at the deadline, and recovers when QEMU answers again", async () => {
    const { vm, registry } = setup();
    vm.hang = "timeout";
    await scrape(registry);
    const m = await scrape(registry);
    expect(vm.count("query-status")).toBe(2);
    // Nothing was ever known: no state, and no guessed one.
    expect(series(m, "vireo_vm_state")).toEqual({});
    expect(errorsBySource(m)["source=status"]).toBe(2);
    vm.hang = "no";
    const after = await scrape(registry);
    expect(series(after, "vireo_vm_state")["state=running"]).toBe(1);
    expect(errorsBySource(after)["source=status"]).toBe(2);
  });

  it("counts a broken reply as an error of its source only", async () => {
    const { vm, registry } = setup();
    vm.replies["query-blockstats"] = { value: [{ device: "", stats: { rd_bytes: "lots" } }] };
    const m = await scrape(registry);
    expect(errorsBySource(m)).toMatchObject({ "source=blockstats": 1, "source=status": 0 });
  });
});

describe("VM metrics after QEMU restarts", () => {
  it("forgets the old process's values", async () => {
    const { vm, host, registry } = setup();
    await scrape(registry);
    vm.pid = 5000;
    vm.hang = "timeout";
    host.setStat("/proc/5000/stat", 1, 1);
    host.files.set("/proc/5000/status", "VmRSS:\t  10 kB\n");
    const m = await scrape(registry);
    expect(series(m, "vireo_vm_state")).toEqual({});
    expect(series(m, "vireo_vm_vcpu_seconds_total")).toEqual({});
    expect(series(m, "vireo_vm_cpu_usage_seconds_total")).toEqual({ "": 0.02 });
    expect(series(m, "vireo_vm_memory_resident_bytes")).toEqual({ "": 10240 });
    expect(series(m, "vireo_vm_storage_read_traffic_bytes_total")).toEqual({});
  });
});
