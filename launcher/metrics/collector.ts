import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { withDeadline } from "./deadline.ts";
import { MetricsDeadlineError } from "./errors.ts";
import { readNicStats, type NicStats } from "./net-stats.ts";
import { parseProcStat, parseResidentBytes, type CpuTimes } from "./proc.ts";
import {
  parseGuestStats,
  parseMemorySizeSummary,
  parseQueryBalloon,
  parseQueryBlockstats,
  parseQueryCpusFast,
  parseQueryStatus,
  type BalloonStats,
  type DriveStats,
  type VcpuThread,
  type VmState,
} from "./qmp-replies.ts";
import type { HostFiles, VmIdentity, VmMetricsSource } from "./source.ts";

/** Where each group of values comes from; the `source` label of `vireo_vm_scrape_errors_total`. */
export const METRIC_SOURCES = ["status", "vcpus", "process", "memory", "blockstats", "network"] as const;

/** One of {@link METRIC_SOURCES}. */
export type MetricSource = (typeof METRIC_SOURCES)[number];

/** Memory as QEMU and the guest's balloon driver see it. */
export interface MemorySnapshot {
  /** Guest RAM QEMU was given (boot plus hot-plugged). */
  domainBytes: number;
  /** The balloon's current size; undefined without a balloon device. */
  actualBalloonBytes?: number;
  /** The guest's balloon statistics; undefined until the guest driver first reported. */
  stats?: BalloonStats;
}

/** Everything known about the VM at the end of a collection; values of failed sources are the last known. */
export interface VmSnapshot {
  identity: VmIdentity;
  /** The run state, `stopped` without a QEMU process, undefined while QMP never answered. */
  state?: VmState;
  process?: CpuTimes & { residentBytes: number };
  vcpus: { vcpu: string; seconds: number }[];
  memory?: MemorySnapshot;
  drives: DriveStats[];
  nics: NicStats[];
  /** Failed or timed-out collections per source since the launcher started. */
  errors: Record<MetricSource, number>;
  /** Unix time in seconds of each source's last successful collection. */
  lastSuccess: Partial<Record<MetricSource, number>>;
}

/** Tuning and host access for {@link VmMetricsCollector}. */
export interface CollectorOptions {
  /** A collection never takes longer than this (default 2000 ms); keep it under Prometheus' scrape_timeout. */
  deadlineMs?: number;
  /** When > 0, make sure QEMU polls the guest's balloon statistics this often (qom-set, once per QEMU). */
  balloonStatsPollSeconds?: number;
  files?: HostFiles;
  /** Default `/proc`. */
  procRoot?: string;
  /** Where the taps' statistics are; default `/sys/class/net` (the launcher's own network namespace). */
  sysClassNet?: string;
  /** Unix time in ms; default Date.now. */
  now?: () => number;
  /** Told about every failed collection (for the log); the counter is kept regardless. */
  onError?: (source: MetricSource, error: unknown) => void;
}

/** Fraction of the deadline QMP may use, so the procfs reads that follow always get the rest. */
const QMP_SHARE = 0.75;

const nodeFiles: HostFiles = { readFile: (path) => readFile(path, "utf8") };

// Values that belong to one QEMU process; dropped when the pid changes.
interface PerQemu {
  pid: number;
  state?: VmState;
  threads: VcpuThread[];
  process?: VmSnapshot["process"];
  vcpus: VmSnapshot["vcpus"];
  memory?: MemorySnapshot;
  drives: DriveStats[];
  pollingEnsured: boolean;
}

/**
 * Gathers the VM's values at scrape time. Every source runs against one deadline; a source that fails or
 * hangs keeps its last values and counts an error, so a hung QMP never hangs `/metrics`. Concurrent callers
 * (one scrape asks once per metric) share one collection.
 */
export class VmMetricsCollector {
  readonly #source: VmMetricsSource;
  readonly #deadlineMs: number;
  readonly #pollSeconds: number;
  readonly #files: HostFiles;
  readonly #procRoot: string;
  readonly #sysClassNet: string;
  readonly #now: () => number;
  readonly #onError: CollectorOptions["onError"];
  #qemu: PerQemu | undefined;
  #nics: NicStats[] = [];
  #errors = Object.fromEntries(METRIC_SOURCES.map((s) => [s, 0])) as Record<MetricSource, number>;
  #lastSuccess: Partial<Record<MetricSource, number>> = {};
  // A source whose previous call has not settled yet is not called again: calls would pile up behind it.
  #pending = new Set<MetricSource>();
  #inFlight: Promise<VmSnapshot> | undefined;

  constructor(source: VmMetricsSource, options: CollectorOptions = {}) {
    this.#source = source;
    this.#deadlineMs = options.deadlineMs ?? 2000;
    this.#pollSeconds = options.balloonStatsPollSeconds ?? 0;
    this.#files = options.files ?? nodeFiles;
    this.#procRoot = options.procRoot ?? "/proc";
    this.#sysClassNet = options.sysClassNet ?? "/sys/class/net";
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError;
  }

  /** The collection deadline in ms. */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  /** Collects now, or joins the collection already running. */
  collect(): Promise<VmSnapshot> {
    this.#inFlight ??= this.#collect().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #collect(): Promise<VmSnapshot> {
    const deadlineAt = this.#now() + this.#deadlineMs;
    const pid = this.#source.qemuPid();
    if (pid === undefined) {
      this.#qemu = undefined;
    } else if (this.#qemu?.pid !== pid) {
      this.#qemu = { pid, threads: [], vcpus: [], drives: [], pollingEnsured: false };
    }
    const qemu = this.#qemu;
    const qmpBudget = (): number => Math.min(this.#deadlineMs * QMP_SHARE, deadlineAt - this.#now());
    const rest = (): number => deadlineAt - this.#now();
    const runs: Promise<void>[] = [];
    if (qemu !== undefined) {
      const vcpus = this.#run("vcpus", qmpBudget(), (t) => this.#collectThreads(qemu, t));
      runs.push(
        vcpus,
        // After the thread ids, so a new vCPU is counted at once; with the rest of the deadline.
        vcpus.then(() => this.#run("process", rest(), () => this.#collectProcess(qemu))),
        this.#run("status", qmpBudget(), (t) => this.#collectStatus(qemu, t)),
        this.#run("memory", qmpBudget(), (t) => this.#collectMemory(qemu, t)),
        this.#run("blockstats", qmpBudget(), (t) => this.#collectBlockstats(qemu, t)),
        this.#run("network", rest(), () => this.#collectNetwork()),
      );
    }
    await Promise.all(runs);
    return this.#snapshot();
  }

  /** Runs one source within `budgetMs`; never rejects. */
  async #run(
    source: MetricSource,
    budgetMs: number,
    work: (timeoutMs: number) => Promise<void>,
  ): Promise<void> {
    if (this.#pending.has(source)) {
      this.#fail(source, new MetricsDeadlineError("METRICS_BUSY", source, this.#deadlineMs));
      return;
    }
    this.#pending.add(source);
    const started = work(Math.max(1, budgetMs)).finally(() => this.#pending.delete(source));
    try {
      await withDeadline(started, budgetMs, source);
      this.#lastSuccess[source] = this.#now() / 1000;
    } catch (error) {
      this.#fail(source, error);
      // A late result still lands in the last values (for the next scrape); its failure is already counted.
      started.catch(() => undefined);
    }
  }

  #fail(source: MetricSource, error: unknown): void {
    this.#errors[source] += 1;
    this.#onError?.(source, error);
  }

  #qmp(command: string, timeoutMs: number, args?: Record<string, unknown>): Promise<unknown> {
    return this.#source.qmp(command, args, timeoutMs);
  }

  async #collectStatus(qemu: PerQemu, timeoutMs: number): Promise<void> {
    qemu.state = parseQueryStatus(await this.#qmp("query-status", timeoutMs));
  }

  async #collectThreads(qemu: PerQemu, timeoutMs: number): Promise<void> {
    qemu.threads = parseQueryCpusFast(await this.#qmp("query-cpus-fast", timeoutMs));
  }

  async #collectProcess(qemu: PerQemu): Promise<void> {
    const base = join(this.#procRoot, String(qemu.pid));
    const [stat, status] = await Promise.all([
      this.#files.readFile(join(base, "stat")),
      this.#files.readFile(join(base, "status")),
    ]);
    // Several vCPUs share a thread under single-threaded TCG: each then shows the shared thread's time.
    const vcpus = await Promise.all(
      qemu.threads.map(async ({ vcpu, threadId }) => {
        const path = join(base, "task", String(threadId), "stat");
        const times = parseProcStat(await this.#files.readFile(path), path);
        return { vcpu, seconds: times.totalSeconds };
      }),
    );
    qemu.process = {
      ...parseProcStat(stat, join(base, "stat")),
      residentBytes: parseResidentBytes(status, join(base, "status")),
    };
    qemu.vcpus = vcpus;
  }

  async #collectMemory(qemu: PerQemu, timeoutMs: number): Promise<void> {
    const deadlineAt = this.#now() + timeoutMs;
    const left = (): number => Math.max(1, deadlineAt - this.#now());
    const memory: MemorySnapshot = {
      domainBytes: parseMemorySizeSummary(await this.#qmp("query-memory-size-summary", left())),
    };
    const balloon = this.#source.balloonQomPath();
    if (balloon !== undefined) {
      memory.actualBalloonBytes = parseQueryBalloon(await this.#qmp("query-balloon", left()));
      if (this.#pollSeconds > 0 && !qemu.pollingEnsured) {
        const property = { path: balloon, property: "guest-stats-polling-interval" };
        if ((await this.#qmp("qom-get", left(), property)) !== this.#pollSeconds) {
          await this.#qmp("qom-set", left(), { ...property, value: this.#pollSeconds });
        }
        qemu.pollingEnsured = true;
      }
      const stats = await this.#guestStats(balloon, left());
      if (stats !== undefined) memory.stats = stats;
    }
    qemu.memory = memory;
  }

  async #guestStats(balloon: string, timeoutMs: number): Promise<BalloonStats | undefined> {
    try {
      return parseGuestStats(
        await this.#qmp("qom-get", timeoutMs, { path: balloon, property: "guest-stats" }),
      );
    } catch (error) {
      // QEMU refuses guest-stats until the guest's balloon driver first reported (boot, or a guest without
      // the driver): there is nothing to report, and nothing is broken.
      if (error instanceof Error && /hasn't updated any stats yet/.test(error.message)) return undefined;
      throw error;
    }
  }

  async #collectBlockstats(qemu: PerQemu, timeoutMs: number): Promise<void> {
    qemu.drives = parseQueryBlockstats(await this.#qmp("query-blockstats", timeoutMs), this.#source.disks());
  }

  async #collectNetwork(): Promise<void> {
    this.#nics = await readNicStats(this.#files, this.#sysClassNet, this.#source.nics());
  }

  #snapshot(): VmSnapshot {
    const qemu = this.#qemu;
    const snapshot: VmSnapshot = {
      identity: this.#source.identity(),
      vcpus: qemu?.vcpus ?? [],
      drives: qemu?.drives ?? [],
      // Without QEMU the taps carry nothing of the guest's; their counters would only mislead.
      nics: qemu === undefined ? [] : this.#nics,
      errors: { ...this.#errors },
      lastSuccess: { ...this.#lastSuccess },
    };
    const state = qemu === undefined ? "stopped" : qemu.state;
    if (state !== undefined) snapshot.state = state;
    if (qemu?.process !== undefined) snapshot.process = qemu.process;
    if (qemu?.memory !== undefined) snapshot.memory = qemu.memory;
    return snapshot;
  }
}
