/**
 * `npm run bench`: Vireo's figures against KubeVirt's (issue 10). Runs the selected sections, prints a table
 * and writes the results as JSON under bench/results/ (one timestamped file per run, plus latest.json).
 * Method and the latest figures: docs/performance.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { constants, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { totalmem } from "node:os";
import { guestArtifacts } from "../test/guest/artifacts.ts";
import { BenchArgsError, parseBenchArgs, type BenchArgs, type Section } from "./lib/args.ts";
import { startBenchCluster, type BenchCluster } from "./lib/cluster.ts";
import { machineLoad } from "./lib/proc.ts";
import { renderMarkdown, renderTable, type SectionResult } from "./lib/report.ts";
import { churnSection } from "./sections/churn.ts";
import type { BenchContext } from "./sections/context.ts";
import { overheadSection } from "./sections/overhead.ts";
import { scaleSection } from "./sections/scale.ts";
import { startSection } from "./sections/start.ts";
import { importSection } from "./sections/import.ts";
import { masqueradeSection } from "./sections/masquerade.ts";
import { migrationSection } from "./sections/migration.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

const RUNNERS: Record<Section, (ctx: BenchContext) => Promise<SectionResult>> = {
  overhead: overheadSection,
  start: startSection,
  scale: scaleSection,
  churn: churnSection,
  import: importSection,
  masquerade: masqueradeSection,
  migration: migrationSection,
};

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function qemuVersion(): string {
  try {
    return execFileSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" }).split("\n")[0]!;
  } catch {
    return "unknown";
  }
}

/** Compiles dist/ as `npm run build` does; type errors elsewhere in the tree do not stop the emit. */
function build(): void {
  log("building dist/ (tsc -p tsconfig.json) for the compiled launcher and operator");
  const r = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
  });
  for (const entry of ["dist/launcher/main.js", "dist/operator/main.js"])
    if (!existsSync(join(root, entry))) throw new Error(`tsc produced no ${entry}:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0)
    log(
      `  (tsc reported type errors; using what it emitted)\n${r.stdout.split("\n").slice(0, 5).join("\n")}`,
    );
}

async function kvmUsable(): Promise<boolean> {
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function preflight(args: BenchArgs): void {
  const needsVm = args.sections.some((s) => s === "overhead" || s === "start");
  if (needsVm && process.getuid?.() !== 0)
    throw new Error("the overhead and start sections need root: they create network namespaces as pods");
  if (needsVm) guestArtifacts();
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof BenchArgsError) {
      console.error(err.message);
      return err.message.startsWith("usage:") ? 0 : 2;
    }
    throw err;
  }
  preflight(args);
  if (args.dist && args.build) build();
  const kvm = args.kvm === "auto" ? await kvmUsable() : args.kvm;

  let cluster: BenchCluster | undefined;
  let id = 0;
  const ctx: BenchContext = {
    quick: args.quick,
    dist: args.dist,
    kvm,
    launcherNodeArgs: args.launcherNodeArgs,
    ...(args.launcherScript ? { launcherScript: args.launcherScript } : {}),
    operatorNodeArgs: args.operatorNodeArgs,
    settleSeconds: args.settleSeconds,
    startRuns: args.startRuns,
    scaleVms: args.scaleVms,
    holdVms: args.holdVms,
    concurrency: args.concurrency,
    rate: args.rate,
    churnVms: args.churnVms,
    churnSeconds: args.churnSeconds,
    ...(args.workers ? { workers: args.workers } : {}),
    async cluster() {
      if (!cluster) {
        log("starting etcd + kube-apiserver (test harness)");
        cluster = await startBenchCluster(Math.max(16, args.concurrency));
      }
      return cluster;
    },
    // Namespace and veth names must not clash with `vireo run` (which uses its pid) or a parallel bench.
    nextId: () => 20_000 + ((process.pid * 7 + ++id) % 10_000),
    log,
  };

  const startedAt = new Date();
  const loadBefore = machineLoad();
  log(`load average before: ${loadBefore.loadavg.join(" ")} on ${loadBefore.cpus} cores`);
  const results: SectionResult[] = [];
  const errors: { section: Section; error: string }[] = [];
  const onSignal = () => log("interrupted: cleaning up (again to force)");
  process.once("SIGINT", onSignal);
  try {
    for (const s of args.sections) {
      log(`== ${s}`);
      try {
        results.push(await RUNNERS[s](ctx));
      } catch (err) {
        const e = err as Error;
        log(`section ${s} failed: ${e.stack ?? e.message}`);
        errors.push({ section: s, error: e.message });
      }
    }
  } finally {
    await cluster?.stop();
  }
  const loadAfter = machineLoad();

  const table = renderTable(results);
  console.log(`\n${table}\n`);
  for (const r of results) for (const n of r.notes) console.log(`[${r.section}] ${n}`);
  console.log(
    `\nload average: ${loadBefore.loadavg.join(" ")} before, ${loadAfter.loadavg.join(" ")} after (${loadAfter.cpus} cores)`,
  );
  if (args.markdown) console.log(`\n${renderMarkdown(results)}\n`);

  const out = args.outDir ?? join(root, "bench/results");
  mkdirSync(out, { recursive: true });
  const doc = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    git: {
      commit: git(["rev-parse", "HEAD"]),
      dirty: git(["status", "--porcelain", "--", "operator", "launcher", "crds", "bench"]) !== "",
    },
    machine: {
      cpus: loadBefore.cpus,
      memoryBytes: totalmem(),
      node: process.version,
      qemu: qemuVersion(),
      kvm,
      loadBefore,
      loadAfter,
    },
    options: args,
    sections: results,
    errors,
  };
  const file = join(out, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(join(out, "latest.json"), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`results: ${file}`);
  if (errors.length) return 1;
  if (args.check && results.some((r) => r.rows.some((row) => row.ok === false))) return 1;
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  return 1;
});
