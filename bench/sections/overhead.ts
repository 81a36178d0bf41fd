/**
 * Section 1: what a running VM costs beyond its guest RAM. The launcher runs as in the pod (compiled build,
 * in a network namespace, after netsetup) with the test guest; once the guest is up and has settled, and
 * the metrics endpoint has been scraped as Prometheus would, the launcher, QEMU and any helper processes
 * are read from /proc (see docs/performance.md for the method).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { kubevirtOverheadBytes, TARGETS } from "../lib/kubevirt.ts";
import { benchVm, launchVm, type BenchVmShape, type LaunchedVm } from "../lib/launch.ts";
import { descendants, machineLoad, qemuMemory, statusMemory } from "../lib/proc.ts";
import { atMost, fmt, type Row, type SectionResult } from "../lib/report.ts";
import type { QemuMemory } from "../lib/smaps.ts";
import type { BenchContext } from "./context.ts";

const MiB = 2 ** 20;
const KiB_PER_MiB = 1024;

/** Figures for one VM shape, MiB unless named otherwise. */
export interface OverheadFigures {
  shape: BenchVmShape;
  accel: "tcg" | "kvm";
  guestReady: boolean;
  launcher: { rss: number; anon: number; file: number; peak: number };
  qemu: {
    rss: number;
    guestRam: number;
    tcgCache: number;
    kernelBoot: number;
    other: number;
    otherFile: number;
    otherPss: number;
    guestRamMapping?: string;
  };
  helpers: { comm: string; rss: number }[];
  /** Launcher + QEMU beyond guest RAM + helpers, everything as measured. */
  nonGuestMeasured: number;
  /** The same without TCG's code cache and the kernel-boot copies (under KVM: what a VM booting from disk pays). */
  nonGuestKvmDisk: number;
  kubevirt: number;
  load: ReturnType<typeof machineLoad>;
}

const toMiB = (kib: number) => kib / KiB_PER_MiB;

/** Reads everything `samples` times a second apart and keeps each figure's largest value. */
async function measure(vm: LaunchedVm, guestBytes: number, samples: number) {
  let launcher = { rss: 0, anon: 0, file: 0, peak: 0 };
  let qemu: QemuMemory | undefined;
  const helpers = new Map<string, number>();
  const boot = vm.kernelBoot;
  for (let i = 0; i < samples; i++) {
    const m = statusMemory(vm.launcherPid);
    if (m && m.rssKiB > launcher.rss * KiB_PER_MiB)
      launcher = { rss: toMiB(m.rssKiB), anon: toMiB(m.rssAnonKiB), file: toMiB(m.rssFileKiB), peak: 0 };
    launcher.peak = Math.max(launcher.peak, toMiB(m?.hwmKiB ?? 0));
    const q = qemuMemory(vm.qemuPid, guestBytes, boot);
    if (!qemu || q.otherRssKiB + q.tcgCacheRssKiB > qemu.otherRssKiB + qemu.tcgCacheRssKiB) qemu = q;
    for (const d of descendants(vm.launcherPid)) {
      if (d.pid === vm.qemuPid) continue;
      const rss = toMiB(statusMemory(d.pid)?.rssKiB ?? 0);
      helpers.set(d.comm, Math.max(helpers.get(d.comm) ?? 0, rss));
    }
    if (i < samples - 1) await sleep(1000);
  }
  return { launcher, qemu: qemu!, helpers: [...helpers].map(([comm, rss]) => ({ comm, rss })) };
}

/** Scrapes the launcher's /metrics from inside the pod's namespace, as Prometheus would. */
async function scrape(vm: LaunchedVm): Promise<boolean> {
  const port = vm.config.http.port;
  const r = await vm.inNamespace(["curl", "-sf", "-o", "/dev/null", `http://127.0.0.1:${port}/metrics`]);
  return r.code === 0;
}

async function measureShape(
  ctx: BenchContext,
  shape: BenchVmShape,
  accel: "tcg" | "kvm",
): Promise<OverheadFigures> {
  const guestBytes = shape.memoryMiB * MiB;
  const vm = await launchVm(benchVm(shape, `overhead-${shape.vcpus}`), {
    dist: ctx.dist,
    id: ctx.nextId(),
    accel,
    ...(ctx.launcherNodeArgs.length ? { nodeArgs: ctx.launcherNodeArgs } : {}),
    ...(ctx.launcherScript ? { script: ctx.launcherScript } : {}),
  });
  let guestReady = false;
  try {
    if (accel === "tcg") {
      await vm.waitGuestReady(180_000);
      guestReady = true;
    }
    ctx.log(`  ${shape.vcpus} vCPU / ${shape.memoryMiB} MiB (${accel}): settling ${ctx.settleSeconds} s`);
    await sleep(ctx.settleSeconds * 1000);
    // Two scrapes: the first loads the metrics code paths, the second is the steady state.
    for (let i = 0; i < 2; i++) if (!(await scrape(vm))) ctx.log("  (metrics scrape failed)");
    const m = await measure(vm, guestBytes, ctx.quick ? 2 : 5);
    const helpersMiB = m.helpers.reduce((s, h) => s + h.rss, 0);
    const q = m.qemu;
    const qemu = {
      rss: toMiB(q.rssKiB),
      guestRam: toMiB(q.guestRamRssKiB),
      tcgCache: toMiB(q.tcgCacheRssKiB),
      kernelBoot: toMiB(q.kernelBootRssKiB),
      other: toMiB(q.otherRssKiB),
      otherFile: toMiB(q.otherFileRssKiB),
      otherPss: toMiB(q.otherPssKiB),
      ...(q.guestRamMapping ? { guestRamMapping: q.guestRamMapping } : {}),
    };
    return {
      shape,
      accel,
      guestReady,
      launcher: m.launcher,
      qemu,
      helpers: m.helpers,
      nonGuestMeasured: m.launcher.rss + qemu.rss - qemu.guestRam + helpersMiB,
      nonGuestKvmDisk: m.launcher.rss + qemu.other + helpersMiB,
      kubevirt: kubevirtOverheadBytes(shape.vcpus, guestBytes) / MiB,
      load: machineLoad(),
    };
  } finally {
    await vm.stop({ force: !guestReady });
  }
}

function rowsFor(f: OverheadFigures): Row[] {
  const kvm = f.accel === "kvm";
  const binding = f.shape.binding && f.shape.binding !== "bridge" ? `, ${f.shape.binding}` : "";
  const label = `${f.shape.vcpus} vCPU / ${f.shape.memoryMiB / 1024} GiB, ${kvm ? "KVM" : "TCG"}${binding}`;
  const kv = fmt(f.kubevirt, "MiB");
  const vsKubevirt = (mib: number) => ({ kubevirt: kv, ratio: mib / f.kubevirt });
  const helpers = f.helpers.reduce((s, h) => s + h.rss, 0);
  // What one more VM adds on a node that already runs VMs: the node binary and QEMU's code are shared.
  const privateMiB = f.launcher.anon + f.qemu.other - f.qemu.otherFile + helpers;
  const rows: Row[] = [
    atMost(`launcher RSS (${label})`, f.launcher.rss, TARGETS.launcherRssMiB, "MiB"),
    {
      metric: "  private (anon) / node binary, shared (file)",
      value: `${fmt(f.launcher.anon, "MiB")} / ${fmt(f.launcher.file, "MiB")}`,
    },
    { metric: `QEMU beyond guest RAM (${label})`, value: fmt(f.qemu.rss - f.qemu.guestRam, "MiB") },
    {
      metric: "  TCG code cache / kernel-boot copies / QEMU itself (shared file part)",
      value: `${fmt(f.qemu.tcgCache, "MiB")} / ${fmt(f.qemu.kernelBoot, "MiB")} / ${fmt(f.qemu.other, "MiB")} (${fmt(f.qemu.otherFile, "MiB")})`,
    },
    ...f.helpers.map((h) => ({ metric: `  helper ${h.comm}`, value: fmt(h.rss, "MiB") })),
    atMost(
      `non-guest total, as measured (${label})`,
      f.nonGuestMeasured,
      TARGETS.nonGuestOverheadMiB,
      "MiB",
      vsKubevirt(f.nonGuestMeasured),
    ),
    atMost(
      kvm
        ? `non-guest total, booting from disk (${label})`
        : `non-guest total without TCG cache, kernel copies (${label})`,
      f.nonGuestKvmDisk,
      TARGETS.nonGuestOverheadMiB,
      "MiB",
      vsKubevirt(f.nonGuestKvmDisk),
    ),
    {
      metric: `  of which private to this VM (${label})`,
      value: fmt(privateMiB, "MiB"),
      ...vsKubevirt(privateMiB),
    },
  ];
  return rows;
}

/** Runs section 1. */
export async function overheadSection(ctx: BenchContext): Promise<SectionResult> {
  const shapes: BenchVmShape[] = [
    { vcpus: 1, memoryMiB: 1024, binding: "bridge", disks: true },
    ...(ctx.quick ? [] : [{ vcpus: 4, memoryMiB: 4096, binding: "bridge" as const, disks: true }]),
  ];
  const figures: OverheadFigures[] = [];
  for (const shape of shapes) figures.push(await measureShape(ctx, shape, "tcg"));
  if (ctx.kvm) figures.push(await measureShape(ctx, shapes[0]!, "kvm"));
  return {
    section: "overhead",
    rows: figures.flatMap(rowsFor),
    notes: [
      `launcher: ${ctx.dist ? "compiled build (VIREO_USE_DIST=1)" : "TypeScript through tsx"}${
        ctx.launcherNodeArgs.length ? ` with node ${ctx.launcherNodeArgs.join(" ")}` : ""
      }; the test guest under TCG, bridge NIC, a PVC disk and a cloud-init disk.`,
      "QEMU beyond guest RAM = QEMU's Rss minus the Rss of its guest-RAM mapping (smaps); TCG's code cache and " +
        "QEMU's copies of a directly booted kernel are shown apart because a KVM VM booting from its disk has neither.",
      "KubeVirt: 240 MiB + 8 MiB/vCPU + 8 MiB/IOThread + 32 MiB video RAM + guest/512 (its request formula with its defaults, not a measurement here).",
    ],
    data: { figures },
  };
}
