/**
 * Section 2: the launcher's start path, from its process start to QEMU running. Each run starts a fresh
 * launcher (compiled build, in a fresh network namespace after netsetup) for a 1 vCPU / 1 GiB VM with a
 * bridge NIC, a PVC disk and a cloud-init disk, reads the phase marks it logs, then stops it at once.
 */
import { TARGETS } from "../lib/kubevirt.ts";
import { benchVm, launchVm } from "../lib/launch.ts";
import { PHASES, type Phase } from "../lib/launcher-log.ts";
import { machineLoad } from "../lib/proc.ts";
import { atMost, fmt, type Row, type SectionResult } from "../lib/report.ts";
import { summarize, type Summary } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";

/** One run's marks (ms since the launcher process started) and outside views. */
export interface StartRun {
  marks: Partial<Record<Phase, number>>;
  netsetupMs: number;
  spawnToRunningMs: number;
}

const PHASE_LABEL: Record<Phase, string> = {
  config: "config parsed (modules loaded)",
  preflight: "preflight (accelerator chosen)",
  disks: "disks ready",
  network: "network started (DHCP)",
  "qemu-spawned": "QEMU spawned",
  qmp: "QEMU running (first QMP answer)",
  running: "guest running (HTTP, control, cont)",
};

/** Runs section 2. */
export async function startSection(ctx: BenchContext): Promise<SectionResult> {
  const runs: StartRun[] = [];
  const loads = [machineLoad()];
  // One untimed run first: it warms the page cache (node, QEMU, the guest kernel) as a node that has run
  // VMs before would have it.
  for (let i = -1; i < ctx.startRuns; i++) {
    const vm = await launchVm(
      benchVm({ vcpus: 1, memoryMiB: 1024, binding: "bridge", disks: true }, "start"),
      {
        dist: ctx.dist,
        id: ctx.nextId(),
        logLevel: "debug",
        ...(ctx.launcherNodeArgs.length ? { nodeArgs: ctx.launcherNodeArgs } : {}),
      },
    );
    await vm.stop({ force: true });
    if (i < 0) continue;
    runs.push({ marks: vm.marks, netsetupMs: vm.netsetupMs, spawnToRunningMs: vm.spawnToRunningMs });
    ctx.log(`  run ${i + 1}/${ctx.startRuns}: QEMU running at ${vm.marks.qmp} ms`);
  }
  loads.push(machineLoad());
  const phases = Object.fromEntries(
    PHASES.map((p) => [p, summarize(runs.flatMap((r) => (r.marks[p] !== undefined ? [r.marks[p]!] : [])))]),
  ) as Record<Phase, Summary>;
  const netsetup = summarize(runs.map((r) => r.netsetupMs));
  const outside = summarize(runs.map((r) => r.spawnToRunningMs));
  const qmp = phases.qmp;
  const rows: Row[] = [
    ...PHASES.filter((p) => p !== "qmp").map((p) => ({
      metric: `${PHASE_LABEL[p]}: p50 / p95`,
      value: `${fmt(phases[p].p50, "ms", 0)} / ${fmt(phases[p].p95, "ms", 0)}`,
    })),
    atMost(`${PHASE_LABEL.qmp}: p50`, qmp.p50, TARGETS.startP50Ms, "ms", {}, 0),
    { metric: `${PHASE_LABEL.qmp}: p95`, value: fmt(qmp.p95, "ms", 0) },
    {
      metric: "netsetup (init container's part): p50 / p95",
      value: `${fmt(netsetup.p50, "ms", 0)} / ${fmt(netsetup.p95, "ms", 0)}`,
    },
    { metric: "spawn → guest running, seen from outside: p50", value: fmt(outside.p50, "ms", 0) },
  ];
  // Keep the table's order: the QEMU-running rows where that phase falls.
  const order = (r: Row) => {
    const i = PHASES.findIndex((p) => r.metric.startsWith(PHASE_LABEL[p]));
    return i < 0 ? PHASES.length : i;
  };
  rows.sort((a, b) => order(a) - order(b));
  return {
    section: "start",
    rows,
    notes: [
      `${runs.length} runs, ${ctx.dist ? "compiled build (VIREO_USE_DIST=1)" : "TypeScript through tsx"}; marks are ms since the launcher process started (performance.now()).`,
      "No KubeVirt ratio here: KubeVirt publishes VM creation → Running (p50 15–25 s), which includes the kubelet's pod start; the scale section's create → pod latency plus this start path is Vireo's part of that.",
    ],
    data: { runs, phases, netsetup, outside, loads },
  };
}
