/** Command line of `npm run bench`. Pure. */
import { parseArgs } from "node:util";

/** The sections, in the order they run. */
export const SECTIONS = ["overhead", "start", "scale", "churn", "import", "masquerade", "migration"] as const;
/** One of {@link SECTIONS}. */
export type Section = (typeof SECTIONS)[number];

/** Parsed options. */
export interface BenchArgs {
  sections: Section[];
  quick: boolean;
  dist: boolean;
  build: boolean;
  kvm: "auto" | boolean;
  markdown: boolean;
  check: boolean;
  startRuns: number;
  scaleVms: number;
  holdVms: number;
  concurrency: number;
  /** Cap on VM creations per second in the scale wave (0: as fast as the concurrency allows). */
  rate: number;
  churnVms: number;
  churnSeconds: number;
  settleSeconds: number;
  workers?: number;
  launcherNodeArgs: string[];
  /** Another launcher entry point (e.g. the bundled build); default bin/vireo-launcher.js. */
  launcherScript?: string;
  operatorNodeArgs: string[];
  outDir?: string;
}

/** Usage text. */
export const USAGE = `usage: npm run bench -- [section...] [options]

sections: ${SECTIONS.join(" ")} (default: all but import, the DataVolume importer, masquerade and migration)
  --quick               smoke run: small counts, short waits
  --tsx                 run launcher and operator through tsx instead of the compiled build
  --no-build            do not run tsc before using the compiled build (dist/)
  --kvm / --no-kvm      also measure a KVM VM's overhead (default: when /dev/kvm is usable)
  --runs N              start-path runs (default 20; quick 3)
  --vms N               VMs in the scale wave (default 1000; quick 100)
  --hold N              VMs held for the memory figure (default 5000; quick 300)
  --concurrency N       create requests in flight (default 32)
  --rate N              at most N VM creations per second in the scale wave (default: unpaced)
  --churn-vms N         VMs in the churn section (default 100; quick 10)
  --churn-seconds N     churn duration (default 60; quick 10)
  --settle N            seconds a booted guest settles before its memory is read (default 20; quick 5)
  --workers N           operator workers (default: the operator's default)
  --launcher-node-args "ARGS"  extra node flags for the launcher (experiments)
  --launcher-script FILE       the launcher entry point to run (e.g. dist/vireo-launcher.mjs from npm run bundle:launcher)
  --operator-node-args "ARGS"  extra node flags for the operator (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
  --out DIR             results directory (default bench/results)
  --markdown            also print the table as Markdown
  --check               exit 1 when a target is not met`;

/** Thrown for a bad command line. */
export class BenchArgsError extends Error {
  /** Stable code. */
  readonly code = "BENCH_ARGS";
}

function int(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BenchArgsError(`${what} must be a whole number, not ${v}`);
  return n;
}

/** Parses argv (without node and the script). */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        quick: { type: "boolean" },
        tsx: { type: "boolean" },
        "no-build": { type: "boolean" },
        kvm: { type: "boolean" },
        "no-kvm": { type: "boolean" },
        markdown: { type: "boolean" },
        check: { type: "boolean" },
        runs: { type: "string" },
        vms: { type: "string" },
        hold: { type: "string" },
        concurrency: { type: "string" },
        rate: { type: "string" },
        "churn-vms": { type: "string" },
        "churn-seconds": { type: "string" },
        settle: { type: "string" },
        workers: { type: "string" },
        "launcher-node-args": { type: "string" },
        "launcher-script": { type: "string" },
        "operator-node-args": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new BenchArgsError((err as Error).message, { cause: err });
  }
  const { values: v, positionals } = parsed;
  if (v.help) throw new BenchArgsError(USAGE);
  for (const p of positionals)
    if (!(SECTIONS as readonly string[]).includes(p))
      throw new BenchArgsError(`unknown section "${p}" (sections: ${SECTIONS.join(", ")})`);
  const quick = v.quick ?? false;
  const sections = positionals.length
    ? SECTIONS.filter((s) => positionals.includes(s))
    : SECTIONS.filter((s) => s !== "import" && s !== "masquerade" && s !== "migration");
  const scaleVms = int(v.vms, quick ? 100 : 1000, "--vms");
  return {
    sections,
    quick,
    dist: !v.tsx,
    build: !v["no-build"],
    kvm: v["no-kvm"] ? false : v.kvm ? true : "auto",
    markdown: v.markdown ?? false,
    check: v.check ?? false,
    startRuns: int(v.runs, quick ? 3 : 20, "--runs"),
    scaleVms,
    holdVms: int(v.hold, quick ? 300 : 5000, "--hold"),
    concurrency: Math.max(1, int(v.concurrency, 32, "--concurrency")),
    rate: int(v.rate, 0, "--rate"),
    churnVms: Math.max(2, int(v["churn-vms"], quick ? 10 : 100, "--churn-vms")),
    churnSeconds: int(v["churn-seconds"], quick ? 10 : 60, "--churn-seconds"),
    settleSeconds: int(v.settle, quick ? 5 : 20, "--settle"),
    ...(v.workers !== undefined ? { workers: Math.max(1, int(v.workers, 8, "--workers")) } : {}),
    launcherNodeArgs: (v["launcher-node-args"] ?? "").split(/\s+/).filter(Boolean),
    ...(v["launcher-script"] ? { launcherScript: v["launcher-script"] } : {}),
    operatorNodeArgs: (v["operator-node-args"] ?? "").split(/\s+/).filter(Boolean),
    ...(v.out ? { outDir: v.out } : {}),
  };
}
