/**
 * Section 4: churn. VMs are started and stopped over and over (runStrategy flipped Always ↔ Halted by a few
 * concurrent writers) for a bounded time while the bench watches launcher pods. Then every VM is left in its
 * last state and the checks are: no VM ever had two live pods, the operator's queue drains, every running VM
 * has exactly one pod and every halted one none, and after deleting all VMs no pod is left.
 *
 * No kubelet runs here: the launcher pods are never scheduled, and the API server removes an unscheduled pod
 * at once when the operator deletes it, so there is no graceful termination to play.
 */
import { createNamespace, startOperatorProcess } from "../lib/cluster.ts";
import { pool, waitFor } from "../lib/pool.ts";
import { machineLoad } from "../lib/proc.ts";
import { fmt, type Row, type SectionResult } from "../lib/report.ts";
import { Tracker } from "../lib/tracker.ts";
import { counts, createVm, deleteVm, dropNamespace, setRunStrategy } from "../lib/vms.ts";
import { watchInto } from "../lib/watch.ts";
import type { BenchContext } from "./context.ts";

type Strategy = "Always" | "Halted";
const name = (i: number) => `churn-${String(i).padStart(4, "0")}`;

/** Runs section 4. */
export async function churnSection(ctx: BenchContext): Promise<SectionResult> {
  const { client, cp } = await ctx.cluster();
  const ns = `bench-churn-${Date.now().toString(36)}`;
  await createNamespace(client, ns);
  const op = await startOperatorProcess(cp, {
    dist: ctx.dist,
    nodeArgs: ctx.operatorNodeArgs,
    ...(ctx.workers ? { workers: ctx.workers } : {}),
  });
  const tracker = new Tracker();
  const watching = watchInto(cp.kubeConfig, ns, tracker);
  const loads = [machineLoad()];
  try {
    const n = ctx.churnVms;
    const state: Strategy[] = Array.from({ length: n }, () => "Always");
    await pool(state, 16, (_, i) => {
      tracker.sent(name(i), performance.now());
      return createVm(client, ns, name(i));
    });
    await waitFor(() => tracker.converged() >= n, 120_000, 100);
    ctx.log(`  ${n} VMs running; flipping runStrategy for ${ctx.churnSeconds} s`);

    const until = Date.now() + ctx.churnSeconds * 1000;
    const busy = new Set<number>();
    let flips = 0;
    let flipErrors = 0;
    let depthMax = 0;
    const depthPoll = setInterval(() => {
      void op.metric("vireo_operator_workqueue_depth").then(
        (d) => (depthMax = Math.max(depthMax, d ?? 0)),
        () => {},
      );
    }, 500);
    // Eight writers, each flipping a random idle VM; every VM is flipped many times.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          const i = Math.floor(Math.random() * n);
          if (busy.has(i)) continue;
          busy.add(i);
          const next: Strategy = state[i] === "Always" ? "Halted" : "Always";
          try {
            await setRunStrategy(client, ns, name(i), next);
            state[i] = next;
            flips++;
          } catch {
            flipErrors++;
          } finally {
            busy.delete(i);
          }
        }
      }),
    );
    clearInterval(depthPoll);
    const flipSeconds = ctx.churnSeconds;

    // Settle: the queue drains and the pods match the last runStrategy of every VM.
    const s0 = performance.now();
    let zeroSince: number | undefined;
    const drained = await waitFor(
      async () => {
        const d = await op.metric("vireo_operator_workqueue_depth").catch(() => undefined);
        if (d !== 0) return ((zeroSince = undefined), false);
        zeroSince ??= Date.now();
        return Date.now() - zeroSince >= 2000;
      },
      120_000,
      250,
    );
    const settleSeconds = (performance.now() - s0) / 1000;
    const running = state.filter((s) => s === "Always").length;
    const matched = await waitFor(() => tracker.livePodCount === running, 60_000, 100);
    const check = await counts(client, ns);
    const maxPodsNow = Math.max(0, ...check.podOwners.values());
    const m = async (n: string) => (await op.metric(n).catch(() => undefined)) ?? 0;
    const counters = {
      reconciles: await m("vireo_operator_reconcile_total"),
      errors: await m('vireo_operator_reconcile_total{result="error"}'),
      retries: await m("vireo_operator_workqueue_retries_total"),
      apiErrors: await m("vireo_operator_api_errors_total"),
    };

    await pool(state, 16, (_, i) => deleteVm(client, ns, name(i)));
    const gone = await waitFor(() => tracker.liveVms === 0 && tracker.livePodCount === 0, 120_000, 100);
    const after = await counts(client, ns);
    loads.push(machineLoad());

    const rows: Row[] = [
      {
        metric: `runStrategy flips (${n} VMs, ${flipSeconds} s, 8 writers)`,
        value: `${flips} (${fmt(flips / flipSeconds, "/s", 0)}), ${flipErrors} failed`,
      },
      {
        metric: "most live pods of one VM at any moment",
        value: String(tracker.maxPodsPerVm),
        target: "≤ 1",
        ok: tracker.maxPodsPerVm <= 1,
      },
      {
        metric: "queue depth: max during churn / drained after",
        value: `${depthMax} / ${drained ? `0 within ${fmt(settleSeconds, "s")}` : "NOT drained"}`,
        target: "drains",
        ok: drained,
      },
      {
        metric: "pods vs VMs left running",
        value: `${check.pods} pods for ${running} running VMs (max ${maxPodsNow} per VM)`,
        target: "equal",
        ok: matched && check.pods === running && maxPodsNow <= 1,
      },
      {
        metric: "pods left after deleting every VM",
        value: `${after.pods} (VMs left: ${after.vms})`,
        target: "0",
        ok: gone && after.pods === 0,
      },
      {
        metric: "reconciles / errors / API errors",
        value: `${counters.reconciles} / ${counters.errors} / ${counters.apiErrors}`,
      },
    ];
    return {
      section: "churn",
      rows,
      notes: [
        "Pods are never scheduled here, so the API server deletes them at once; with a kubelet, deletion waits for the launcher to stop the guest.",
      ],
      data: {
        vms: n,
        seconds: flipSeconds,
        flips,
        flipErrors,
        depthMax,
        drained,
        settleSeconds,
        running,
        check: { pods: check.pods, vms: check.vms, maxPodsNow },
        duplicates: tracker.duplicates,
        maxPodsPerVm: tracker.maxPodsPerVm,
        counters,
        after: { vms: after.vms, pods: after.pods },
        watchEvents: tracker.events,
        loads,
      },
    };
  } finally {
    watching.stop();
    await op.stop();
    await dropNamespace(client, ns);
  }
}
