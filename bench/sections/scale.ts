/**
 * Section 3: the operator at scale against a real kube-apiserver. The bench creates VMs with bounded
 * concurrency (its load is part of the measurement), watches VMs and launcher pods, and times each VM from
 * its create request to the moment both its pod and a status naming the pod were seen. The operator runs as
 * its own process, so its CPU time and memory come from /proc. Then more VMs are added and the operator's
 * memory is read while it holds them all; finally every VM is deleted (concurrent DELETEs, as users or a
 * GitOps prune would) and the operator, still running, stops their pods and releases their finalizers.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createNamespace, startOperatorProcess, type OperatorProcess } from "../lib/cluster.ts";
import { TARGETS } from "../lib/kubevirt.ts";
import { pool, waitFor } from "../lib/pool.ts";
import { cpuSeconds, machineLoad, type MachineLoad } from "../lib/proc.ts";
import { atMost, fmt, type Row, type SectionResult } from "../lib/report.ts";
import { summarize, type Summary } from "../lib/stats.ts";
import { Tracker } from "../lib/tracker.ts";
import { counts, createVm, deleteVm, dropNamespace, vmNames } from "../lib/vms.ts";
import { watchInto } from "../lib/watch.ts";
import type { BenchContext } from "./context.ts";

const KiB_PER_MiB = 1024;
const name = (i: number) => `vm-${String(i).padStart(5, "0")}`;

/** Operator counters worth reporting (a labelled counter with no samples yet is 0). */
async function operatorCounters(op: OperatorProcess) {
  const m = async (n: string) => (await op.metric(n).catch(() => undefined)) ?? 0;
  return {
    reconciles: await m("vireo_operator_reconcile_total"),
    reconcileErrors: await m('vireo_operator_reconcile_total{result="error"}'),
    retries: await m("vireo_operator_workqueue_retries_total"),
    apiErrors: await m("vireo_operator_api_errors_total"),
    eventsDropped: await m("vireo_operator_events_dropped_total"),
  };
}

/** Waits until the operator's queue is empty for a second (or the timeout passes). */
async function queueDrained(op: OperatorProcess, timeoutMs: number): Promise<boolean> {
  let zeroSince: number | undefined;
  return waitFor(
    async () => {
      const d = await op.metric("vireo_operator_workqueue_depth").catch(() => undefined);
      if (d !== 0) return ((zeroSince = undefined), false);
      zeroSince ??= Date.now();
      return Date.now() - zeroSince >= 1000;
    },
    timeoutMs,
    250,
  );
}

/** CPU seconds of the processes that share the machine, since `since()` was called. */
function cpuMeter(op: OperatorProcess, pids: { apiserver?: number; etcd?: number }) {
  const read = () => ({
    operator: op.sampler.cpuSecondsSinceStart(),
    apiserver: pids.apiserver ? (cpuSeconds(pids.apiserver) ?? 0) : 0,
    etcd: pids.etcd ? (cpuSeconds(pids.etcd) ?? 0) : 0,
    bench: process.cpuUsage(),
  });
  const start = read();
  return () => {
    const now = read();
    const bench = process.cpuUsage(start.bench);
    return {
      operator: now.operator - start.operator,
      apiserver: now.apiserver - start.apiserver,
      etcd: now.etcd - start.etcd,
      bench: (bench.user + bench.system) / 1e6,
    };
  };
}

/** Creates VMs `from..to-1` and waits until every one has converged. */
async function createWave(
  ctx: BenchContext,
  ns: string,
  tracker: Tracker,
  from: number,
  to: number,
  timeoutMs: number,
  rate = 0,
) {
  const { client } = await ctx.cluster();
  const t0 = performance.now();
  let lastAck = t0;
  let failed = 0;
  await pool(
    Array.from({ length: to - from }, (_, k) => from + k),
    ctx.concurrency,
    async (i) => {
      // Paced: VM k of the wave is not sent before t0 + k / rate.
      if (rate > 0) {
        const due = t0 + ((i - from) * 1000) / rate - performance.now();
        if (due > 0) await sleep(due);
      }
      tracker.sent(name(i), performance.now());
      try {
        await createVm(client, ns, name(i));
      } catch {
        failed++;
      }
      lastAck = performance.now();
    },
  );
  const done = await waitFor(() => tracker.converged() >= to - failed, timeoutMs, 50);
  const end = tracker.lastConvergedAt() ?? performance.now();
  return {
    createSeconds: (lastAck - t0) / 1000,
    totalSeconds: (end - t0) / 1000,
    done,
    failed,
    converged: tracker.converged() - from,
  };
}

/** What the section found; filled as it goes, so a late failure keeps the earlier figures. */
interface ScaleData {
  vms: number;
  concurrency: number;
  rate: number;
  wave?: Awaited<ReturnType<typeof createWave>>;
  latencySeconds?: Summary;
  cpuSeconds?: ReturnType<ReturnType<typeof cpuMeter>>;
  peakRssMiB?: number;
  drained?: boolean;
  counters?: Awaited<ReturnType<typeof operatorCounters>>;
  check?: { pods: number; vms: number; vmsWithStatus: number; maxPodsPerVm: number };
  hold?: {
    vms: number;
    wave: Awaited<ReturnType<typeof createWave>>;
    drained: boolean;
    rssMiB: number;
    rssAfterBurstMiB: number;
    settleSeconds: number;
    rssSamplesMiB: number[];
    peakRssMiB: number;
    heapUsedMiB: number;
    heapTotalMiB: number;
    counters: Awaited<ReturnType<typeof operatorCounters>>;
  };
  delete?: {
    vms: number;
    requestSeconds: number;
    goneSeconds: number;
    gone: boolean;
    left: { vms: number; pods: number };
  };
  watchEvents?: { vms: number; pods: number };
  operatorLog?: string[];
  loads: MachineLoad[];
  error?: string;
}

function rows(ctx: BenchContext, d: ScaleData): Row[] {
  const n = d.vms;
  const out: Row[] = [];
  const w = d.wave;
  if (w) {
    out.push(
      {
        metric: `VMs created (${d.concurrency} requests in flight${ctx.rate ? `, at most ${ctx.rate}/s` : ""})`,
        value: `${n - w.failed} in ${fmt(w.createSeconds, "s")} (${fmt((n - w.failed) / w.createSeconds, "/s", 0)})`,
      },
      atMost(
        `all ${n} with pod + status`,
        w.done ? w.totalSeconds : undefined,
        TARGETS.scaleConvergeSeconds,
        "s",
      ),
    );
    if (!w.done) out.push({ metric: "  converged before the timeout", value: `${w.converged} of ${n}` });
  }
  const l = d.latencySeconds;
  if (l)
    out.push(
      {
        metric: "per-VM create → pod + status: p50 / p95",
        value: `${fmt(l.p50, "s", 2)} / ${fmt(l.p95, "s", 2)}`,
      },
      atMost("per-VM create → pod + status: p99", l.p99, TARGETS.scaleP99Seconds, "s", {}, 2),
    );
  const c = d.cpuSeconds;
  if (c)
    out.push(
      { metric: "operator CPU during the wave", value: fmt(c.operator, "s") },
      {
        metric: "kube-apiserver / etcd / bench CPU during the wave",
        value: `${fmt(c.apiserver, "s")} / ${fmt(c.etcd, "s")} / ${fmt(c.bench, "s")}`,
      },
    );
  if (d.peakRssMiB !== undefined)
    out.push({ metric: `operator peak RSS (${n} VMs)`, value: fmt(d.peakRssMiB, "MiB") });
  if (d.check)
    out.push({
      metric: "pods / VMs with status / most pods of one VM",
      value: `${d.check.pods} / ${d.check.vmsWithStatus} / ${d.check.maxPodsPerVm}`,
      target: `${n} / ${n} / 1`,
      ok: d.check.pods === n && d.check.vmsWithStatus === n && d.check.maxPodsPerVm === 1,
    });
  if (d.hold)
    out.push(
      atMost(
        `operator RSS holding ${d.hold.vms} VMs (settled ${fmt(d.hold.settleSeconds, "s", 0)})`,
        d.hold.rssMiB,
        TARGETS.rss5000MiB,
        "MiB",
      ),
      {
        metric: "  right after the burst / peak / V8 heap used",
        value: `${fmt(d.hold.rssAfterBurstMiB, "MiB")} / ${fmt(d.hold.peakRssMiB, "MiB")} / ${fmt(d.hold.heapUsedMiB, "MiB")}`,
      },
      {
        metric: `  ${d.hold.vms - n} more VMs converged in`,
        value: d.hold.wave.done ? fmt(d.hold.wave.totalSeconds, "s") : `not all (${d.hold.wave.converged})`,
      },
    );
  if (d.delete)
    out.push({
      metric: `delete ${d.delete.vms} VMs → all gone (operator-driven)`,
      value: d.delete.gone
        ? fmt(d.delete.goneSeconds, "s")
        : `not done after ${fmt(d.delete.goneSeconds, "s")}`,
    });
  if (d.error) out.push({ metric: "section error", value: d.error.slice(0, 120), ok: false });
  return out;
}

/** Runs section 3. */
export async function scaleSection(ctx: BenchContext): Promise<SectionResult> {
  const { client, cp } = await ctx.cluster();
  const ns = `bench-scale-${Date.now().toString(36)}`;
  await createNamespace(client, ns);
  const op = await startOperatorProcess(cp, {
    dist: ctx.dist,
    nodeArgs: ctx.operatorNodeArgs,
    ...(ctx.workers ? { workers: ctx.workers } : {}),
  });
  const tracker = new Tracker();
  const watching = watchInto(cp.kubeConfig, ns, tracker);
  const n = ctx.scaleVms;
  const d: ScaleData = { vms: n, concurrency: ctx.concurrency, rate: ctx.rate, loads: [machineLoad()] };
  try {
    await sleep(1000); // the watches are open
    const cpu = cpuMeter(op, { apiserver: cp.pids["kube-apiserver"], etcd: cp.pids.etcd });
    ctx.log(`  creating ${n} VMs (${ctx.concurrency} requests in flight)`);
    d.wave = await createWave(ctx, ns, tracker, 0, n, 600_000, ctx.rate);
    d.cpuSeconds = cpu();
    d.peakRssMiB = op.sampler.peakRssKiB / KiB_PER_MiB;
    d.latencySeconds = summarize(tracker.latencies().map((ms) => ms / 1000));
    d.loads.push(machineLoad());
    ctx.log(`  ${d.wave.converged}/${n} converged in ${d.wave.totalSeconds.toFixed(1)} s`);
    d.drained = await queueDrained(op, 120_000);
    const check = await counts(client, ns);
    d.check = {
      pods: check.pods,
      vms: check.vms,
      vmsWithStatus: check.vmsWithStatus,
      maxPodsPerVm: Math.max(0, ...check.podOwners.values()),
    };
    d.counters = await operatorCounters(op);

    if (ctx.holdVms > n) {
      ctx.log(`  adding ${ctx.holdVms - n} more VMs (holding ${ctx.holdVms})`);
      const wave = await createWave(ctx, ns, tracker, n, ctx.holdVms, 900_000);
      const drained = await queueDrained(op, 300_000);
      // Right after a burst V8 keeps the heap it grew; its memory reducer gives it back after about a minute
      // of quiet. Holding VMs is the quiet state, so RSS is sampled every 5 s until it has not changed for
      // 30 s (at most 3 minutes), and the value right after the burst is kept too.
      const samples: number[] = [];
      const rss = () => (op.sampler.now()?.rssKiB ?? 0) / KiB_PER_MiB;
      const settleMs = ctx.quick ? 10_000 : 180_000;
      const t0 = Date.now();
      let stableSince = Date.now();
      samples.push(rss());
      while (Date.now() - t0 < settleMs) {
        await sleep(5000);
        const r = rss();
        if (Math.abs(r - samples[samples.length - 1]!) > 1) stableSince = Date.now();
        samples.push(r);
        if (Date.now() - stableSince >= 30_000 && Date.now() - t0 >= 90_000) break;
      }
      const heap = async (n: string) => ((await op.metric(n).catch(() => undefined)) ?? 0) / 2 ** 20;
      d.hold = {
        vms: ctx.holdVms,
        wave,
        drained,
        rssMiB: samples[samples.length - 1]!,
        rssAfterBurstMiB: samples[0]!,
        settleSeconds: (Date.now() - t0) / 1000,
        rssSamplesMiB: samples,
        peakRssMiB: op.sampler.peakRssKiB / KiB_PER_MiB,
        heapUsedMiB: await heap("nodejs_heap_size_used_bytes"),
        heapTotalMiB: await heap("nodejs_heap_size_total_bytes"),
        counters: await operatorCounters(op),
      };
      d.loads.push(machineLoad());
    }

    ctx.log("  deleting every VM; the operator stops the pods and releases the finalizers");
    const names = await vmNames(client, ns);
    const t0 = performance.now();
    await pool(names, ctx.concurrency, (vm) => deleteVm(client, ns, vm));
    const requestSeconds = (performance.now() - t0) / 1000;
    // Waits on the watch: listing 5,000 VMs and pods every second would load the API server it measures.
    const gone = await waitFor(() => tracker.liveVms === 0 && tracker.livePodCount === 0, 900_000, 100);
    const goneSeconds = (performance.now() - t0) / 1000;
    const left = await counts(client, ns);
    d.delete = {
      vms: names.length,
      requestSeconds,
      goneSeconds,
      gone,
      left: { vms: left.vms, pods: left.pods },
    };
  } catch (err) {
    d.error = (err as Error).message;
    ctx.log(`  scale: ${(err as Error).stack ?? String(err)}`);
  } finally {
    d.watchEvents = tracker.events;
    d.operatorLog = op.warnings().slice(0, 20);
    watching.stop();
    await op.stop();
    await dropNamespace(client, ns);
  }
  return {
    section: "scale",
    rows: rows(ctx, d),
    notes: [
      `operator: bin/vireo-operator.js as its own process (${ctx.dist ? "compiled build" : "tsx"}), all namespaces, no leader election; etcd, kube-apiserver, operator and bench share this machine's ${d.loads[0]!.cpus} cores.`,
      "No scheduler or kubelet: launcher pods stay Pending, which is what the operator reports; pod start is outside this figure.",
    ],
    data: d as unknown as Record<string, unknown>,
  };
}
