/**
 * `npm run bench -- migration`: live migration of a 1 GiB test guest (TCG) between two network namespaces
 * standing in for two pods, over the launcher's migration code with its default settings (64 MiB/s,
 * auto-converge, 300 ms downtime limit): total time and QEMU's measured downtime, at rest and with the guest
 * rewriting 128 MiB of memory in a loop; p50/p95 over the runs. Only namespaces made here are touched.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATION_PORT } from "../../crds/contract/migration.ts";
import { incomingUri } from "../../launcher/migration/plan.ts";
import { migrateSource } from "../../launcher/migration/source.ts";
import { listenIncoming } from "../../launcher/migration/target.ts";
import { createPodPair, startInNetns, type NetnsQemu } from "../../test/integration/migration-kit.ts";
import { summarize } from "../lib/stats.ts";
import { fmt, type Row, type SectionResult } from "../lib/report.ts";
import type { BenchContext } from "./context.ts";

const MEMORY_MIB = 1024;
/** The guest's memory writer: 128 MiB of random bytes, copied over and over (pages stay dirty and random). */
const DIRTY =
  "dd if=/dev/urandom of=/tmp/a bs=1M count=128 2>/dev/null; (while :; do cp /tmp/a /tmp/b; done) &";

interface Run {
  result: string;
  totalMs: number;
  downtimeMs?: number | undefined;
  transferredBytes?: number | undefined;
  iterations?: number | undefined;
  throttlePercent?: number | undefined;
}

async function migrateOnce(ctx: BenchContext, dirty: boolean): Promise<Run> {
  const id = ctx.nextId();
  const pair = createPodPair(`b${id}`, 100 + (id % 100));
  const dir = mkdtempSync(join(tmpdir(), "vireo-bench-migration-"));
  const qemus: NetnsQemu[] = [];
  try {
    const disk = join(dir, "disk.raw");
    execFileSync("truncate", ["-s", "16M", disk]);
    const common = { disk, memoryMiB: MEMORY_MIB };
    const source = await startInNetns({ ...pair.source, ...common, dir: join(dir, "s"), incoming: false });
    qemus.push(source);
    await source.serial.waitForReady(180_000);
    await source.serial.waitForShell(60_000);
    if (dirty) await source.serial.check(DIRTY, 120_000);
    const target = await startInNetns({ ...pair.target, ...common, dir: join(dir, "t"), incoming: true });
    qemus.push(target);
    const uri = incomingUri(pair.target.ip, MIGRATION_PORT);
    const listening = await listenIncoming(target.qmp, { uri, timeoutMs: 600_000 });
    let throttle = 0;
    const t0 = performance.now();
    const r = await migrateSource(source.qmp, {
      uri,
      tuning: {},
      guestMemoryBytes: MEMORY_MIB * 2 ** 20,
      onProgress: (p) => (throttle = Math.max(throttle, p.throttlePercent ?? 0)),
    });
    const totalMs = performance.now() - t0;
    const incoming = r.outcome.result === "Succeeded" ? await listening.completion : undefined;
    return {
      result: incoming?.result === "Succeeded" ? "Succeeded" : `${r.outcome.result}`,
      totalMs,
      downtimeMs: r.progress.downtimeMilliseconds,
      transferredBytes: r.progress.transferredBytes,
      iterations: r.progress.iterations,
      throttlePercent: throttle,
    };
  } finally {
    await Promise.all(qemus.map((q) => q.kill()));
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rows(label: string, runs: Run[]): Row[] {
  const ok = runs.filter((r) => r.result === "Succeeded");
  const total = summarize(ok.map((r) => r.totalMs / 1000));
  const down = summarize(ok.map((r) => r.downtimeMs ?? NaN).filter(Number.isFinite));
  return [
    { metric: `${label}: migrations succeeded`, value: `${ok.length}/${runs.length}` },
    { metric: `${label}: total time p50 / p95`, value: `${fmt(total.p50, "s")} / ${fmt(total.p95, "s")}` },
    {
      metric: `${label}: downtime p50 / p95`,
      value: `${fmt(down.p50, "ms", 0)} / ${fmt(down.p95, "ms", 0)}`,
    },
  ];
}

/** Runs the section. */
export async function migrationSection(ctx: BenchContext): Promise<SectionResult> {
  const n = ctx.quick ? 1 : 5;
  const atRest: Run[] = [];
  const dirty: Run[] = [];
  for (let i = 0; i < n; i++) {
    atRest.push(await migrateOnce(ctx, false));
    ctx.log(`  at rest #${i + 1}: ${JSON.stringify(atRest.at(-1))}`);
    dirty.push(await migrateOnce(ctx, true));
    ctx.log(`  dirtying #${i + 1}: ${JSON.stringify(dirty.at(-1))}`);
  }
  return {
    section: "migration",
    rows: [...rows("1 GiB guest at rest", atRest), ...rows("1 GiB guest rewriting 128 MiB", dirty)],
    notes: [
      "TCG guests on one host, veth between two network namespaces; default settings (64 MiB/s, auto-converge).",
      "KubeVirt publishes no per-GiB migration time or downtime to set beside these; the nearest published " +
        "figure is Kube-OVN's (CNCF blog, 2025-03-20): network interruption under 0.5 s during a KubeVirt migration.",
    ],
    data: { atRest, dirty },
  };
}
