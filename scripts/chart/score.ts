/**
 * Security and best-practice lint of the chart: `helm template` of charts/vireo with every
 * ci/*-values.yaml case (release "vireo", hooks included), each piped through kube-score, judged by
 * charts/kube-score.yaml (score-policy.ts). Exits 1 on any unexcused finding or stale exception.
 * Needs helm and kube-score on PATH (scripts/chart/lint.sh puts them there).
 * Usage: tsx scripts/chart/score.ts [--verbose]
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { findingsOf, judge, kubeScoreArgs, parseScorePolicy, type Finding } from "./score-policy.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const chart = join(root, "charts/vireo");
const policyFile = join(root, "charts/kube-score.yaml");
const verbose = process.argv.includes("--verbose");

function run(cmd: string, args: string[], input?: string): string {
  const res = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (res.error) throw new Error(`${cmd}: ${res.error.message}`, { cause: res.error });
  // kube-score exits 1 when it grades anything critical; the policy decides, so only its output counts.
  if (res.status !== 0 && !(cmd === "kube-score" && res.status === 1 && res.stdout.trim().startsWith("[")))
    throw new Error(`${cmd} ${args.join(" ")} exited ${res.status}: ${res.stderr.trim()}`);
  return res.stdout;
}

const show = (f: Finding) =>
  `  [${f.case}] ${f.object}: ${f.check}: ${f.summary}${f.path ? ` (${f.path})` : ""}`;

const policy = parseScorePolicy(parse(readFileSync(policyFile, "utf8")));
const cases = readdirSync(join(chart, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();
const findings: Finding[] = [];
for (const file of cases) {
  const name = file.replace(/-values\.yaml$/, "");
  const manifests = run("helm", [
    "template",
    "vireo",
    chart,
    "--namespace",
    "vireo-system",
    "-f",
    join(chart, "ci", file),
  ]);
  findings.push(...findingsOf(name, JSON.parse(run("kube-score", kubeScoreArgs(policy), manifests))));
}
const verdict = judge(policy, findings);
console.log(
  `kube-score: ${cases.length} cases, ${findings.length} findings, ${verdict.excused.length} excused by ` +
    `${policy.exceptions.length - verdict.unused.length} justified exceptions (charts/kube-score.yaml)`,
);
if (verbose) for (const f of verdict.excused) console.log(show(f));
for (const f of verdict.failures) console.error(`not allowed:${show(f)}`);
for (const u of verdict.unused)
  console.error(
    `stale: exceptions[${u.index}] (${u.check}) excuses nothing; remove it from charts/kube-score.yaml`,
  );
if (verdict.failures.length > 0 || verdict.unused.length > 0) process.exitCode = 1;
