/**
 * Section 2: the launcher's start path, from its process start to QEMU running. Each run starts a fresh
 * launcher (compiled build, in a fresh network namespace after netsetup) for a 1 vCPU / 1 GiB VM with a
 * bridge NIC, a PVC disk and a cloud-init disk, reads the phase marks it logs, then stops it at once.
 * TCG runs are forced as every test here is (VIREO_ACCEL=tcg: no KVM probe); where /dev/kvm opens, a second
 * series takes the production path, which probes KVM first (a short-lived QEMU asked over QMP).
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
  preflight: "accelerator chosen (after the KVM probe, if any)",
  disks: "disks ready",
  network: "network started (DHCP)",
  "qemu-spawned": "QEMU spawned",
  qmp: "QEMU running (first QMP answer)",
  running: "guest running (HTTP, control, cont)",
};

async function series(ctx: BenchContext, accel: "tcg" | "kvm", runs: number): Promise<StartRun[]> {
  const out: StartRun[] = [];
  // One untimed run first: it warms the page cache (node, QEMU, the guest kernel) as on a node that has run
  // VMs before.
  for (let i = -1; i < runs; i++) {
    const vm = await launchVm(
      benchVm({ vcpus: 1, memoryMiB: 1024, binding: "bridge", disks: true }, "start"),
      {
        dist: ctx.dist,
        id: ctx.nextId(),
        accel,
        logLevel: "debug",
        ...(ctx.launcherNodeArgs.length ? { nodeArgs: ctx.launcherNodeArgs } : {}),
        ...(ctx.launcherScript ? { script: ctx.launcherScript } : {}),
      },
    );
    await vm.stop({ force: true });
    if (i < 0) continue;
    out.push({ marks: vm.marks, netsetupMs: vm.netsetupMs, spawnToRunningMs: vm.spawnToRunningMs });
    ctx.log(`  ${accel} run ${i + 1}/${runs}: QEMU running at ${vm.marks.qmp} ms`);
  }
  return out;
}

function phaseSummaries(runs: readonly StartRun[]): Record<Phase, Summary> {
  return Object.fromEntries(
    PHASES.map((p) => [p, summarize(runs.flatMap((r) => (r.marks[p] !== undefined ? [r.marks[p]!] : [])))]),
  ) as Record<Phase, Summary>;
}

function rowsFor(accel: "tcg" | "kvm", runs: readonly StartRun[]): Row[] {
  const phases = phaseSummaries(runs);
  const tag = accel === "tcg" ? "TCG" : "KVM, with its probe";
  const p50p95 = (s: Summary) => `${fmt(s.p50, "ms", 0)} / ${fmt(s.p95, "ms", 0)}`;
  if (accel === "kvm")
    return [
      { metric: `${PHASE_LABEL.preflight} (${tag}): p50 / p95`, value: p50p95(phases.preflight) },
      atMost(`${PHASE_LABEL.qmp} (${tag}): p50`, phases.qmp.p50, TARGETS.startP50Ms, "ms", {}, 0),
      { metric: `${PHASE_LABEL.qmp} (${tag}): p95`, value: fmt(phases.qmp.p95, "ms", 0) },
    ];
  const netsetup = summarize(runs.map((r) => r.netsetupMs));
  const outside = summarize(runs.map((r) => r.spawnToRunningMs));
  return [
    ...PHASES.filter((p) => p !== "qmp" && p !== "running").map((p) => ({
      metric: `${PHASE_LABEL[p]} (${tag}): p50 / p95`,
      value: p50p95(phases[p]),
    })),
    atMost(`${PHASE_LABEL.qmp} (${tag}): p50`, phases.qmp.p50, TARGETS.startP50Ms, "ms", {}, 0),
    { metric: `${PHASE_LABEL.qmp} (${tag}): p95`, value: fmt(phases.qmp.p95, "ms", 0) },
    { metric: `${PHASE_LABEL.running} (${tag}): p50 / p95`, value: p50p95(phases.running) },
    { metric: "netsetup (the init container's part): p50 / p95", value: p50p95(netsetup) },
    { metric: "spawn → guest running, seen from outside: p50", value: fmt(outside.p50, "ms", 0) },
  ];
}

/** Runs section 2. */
export async function startSection(ctx: BenchContext): Promise<SectionResult> {
  const loads = [machineLoad()];
  const tcg = await series(ctx, "tcg", ctx.startRuns);
  const kvm = ctx.kvm ? await series(ctx, "kvm", Math.max(3, Math.round(ctx.startRuns / 2))) : [];
  loads.push(machineLoad());
  return {
    section: "start",
    rows: [...rowsFor("tcg", tcg), ...(kvm.length ? rowsFor("kvm", kvm) : [])],
    notes: [
      `${tcg.length} TCG runs${kvm.length ? ` and ${kvm.length} KVM runs` : ""}, ${
        ctx.dist ? "compiled build (VIREO_USE_DIST=1)" : "TypeScript through tsx"
      }; marks are ms since the launcher process started (performance.now()).`,
      "No KubeVirt ratio here: KubeVirt publishes VM creation → Running (p50 15–25 s), which includes the kubelet's pod start; the scale section's create → pod latency plus this start path is Vireo's part of that.",
    ],
    data: {
      tcg: { runs: tcg, phases: phaseSummaries(tcg) },
      ...(kvm.length ? { kvm: { runs: kvm, phases: phaseSummaries(kvm) } } : {}),
      loads,
    },
  };
}
