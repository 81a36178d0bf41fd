/**
 * The kube-score policy of the chart (charts/kube-score.yaml) and its judgement of kube-score's JSON report:
 * which findings are excused by a justified exception, which fail, and which exceptions no longer match
 * anything (stale, so they fail too). Pure: score.ts runs helm and kube-score and feeds the results here.
 */
import { z } from "zod";

/** One justified exception: a check, the objects it applies to, optionally the findings and cases. */
const exceptionSchema = z
  .object({
    check: z.string().min(1),
    objects: z.array(z.string().regex(/^[A-Za-z]+\/[a-z0-9.-]+$/, "Kind/name")).min(1),
    findings: z.array(z.string().min(1)).min(1).optional(),
    cases: z.array(z.string().min(1)).min(1).optional(),
    why: z.string().min(40, "say why, in a sentence or more"),
  })
  .strict();

/** The policy file's schema. */
export const scorePolicySchema = z
  .object({
    kubernetesVersion: z.string().regex(/^v\d+\.\d+$/),
    optionalChecks: z.array(z.string().min(1)).default([]),
    exceptions: z.array(exceptionSchema).default([]),
  })
  .strict();

/** A parsed kube-score policy. */
export type ScorePolicy = z.infer<typeof scorePolicySchema>;

/** The part of kube-score's JSON (v2) output that the policy reads. */
const reportSchema = z.array(
  z.object({
    type_meta: z.object({ kind: z.string() }),
    object_meta: z.object({ name: z.string() }),
    checks: z.array(
      z.object({
        check: z.object({ id: z.string() }),
        grade: z.number(),
        skipped: z.boolean(),
        comments: z
          .array(
            z.object({
              path: z.string().optional(),
              summary: z.string(),
              description: z.string().optional(),
            }),
          )
          .nullable(),
      }),
    ),
  }),
);

/** kube-score grades: 10 all good, 7 almost ok, 5 warning, 1 critical. */
const GRADE_OK = 7;

/** One finding kube-score made, for one values case. */
export interface Finding {
  case: string;
  object: string;
  check: string;
  summary: string;
  path?: string | undefined;
  grade: number;
}

/** The policy's verdict over every case. */
export interface ScoreVerdict {
  /** Findings no exception covers: each fails CI. */
  failures: Finding[];
  /** Findings covered by an exception (reported, not failing). */
  excused: Finding[];
  /**
   * Exceptions (by index and check), or objects of an exception, that matched nothing in any case: stale,
   * they fail CI too. `object` is set when only that object of the exception is stale.
   */
  unused: Array<{ index: number; check: string; object?: string }>;
}

/** Thrown when the policy file or a report does not parse; `path` names the offending field. */
export class ScorePolicyError extends Error {
  readonly code = "SCORE_POLICY_INVALID";
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${message}`, options);
    this.name = "ScorePolicyError";
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  const path = [what, ...(issue?.path ?? []).map(String)].join(".");
  throw new ScorePolicyError(path, issue?.message ?? "invalid", { cause: res.error });
}

/** Parses a policy (the YAML file's value). */
export function parseScorePolicy(value: unknown): ScorePolicy {
  return parseOrThrow(scorePolicySchema, value, "policy");
}

/** The findings of one kube-score JSON report (grades below "almost ok", skipped checks left out). */
export function findingsOf(caseName: string, report: unknown): Finding[] {
  const objects = parseOrThrow(reportSchema, report, `report(${caseName})`);
  const out: Finding[] = [];
  for (const o of objects) {
    const object = `${o.type_meta.kind}/${o.object_meta.name}`;
    for (const c of o.checks) {
      if (c.skipped || c.grade >= GRADE_OK) continue;
      const comments = c.comments?.length ? c.comments : [{ summary: "(no detail)", path: undefined }];
      for (const comment of comments) {
        out.push({
          case: caseName,
          object,
          check: c.check.id,
          summary: comment.summary,
          path: comment.path,
          grade: c.grade,
        });
      }
    }
  }
  return out;
}

/** Sorts findings into failures and excused ones, and finds exceptions that excuse nothing. */
export function judge(policy: ScorePolicy, findings: Finding[]): ScoreVerdict {
  const used = new Set<number>();
  const usedObjects = new Set<string>();
  const failures: Finding[] = [];
  const excused: Finding[] = [];
  for (const f of findings) {
    const index = policy.exceptions.findIndex(
      (e) =>
        e.check === f.check &&
        e.objects.includes(f.object) &&
        (e.findings === undefined || e.findings.includes(f.summary)) &&
        (e.cases === undefined || e.cases.includes(f.case)),
    );
    if (index < 0) failures.push(f);
    else {
      used.add(index);
      usedObjects.add(`${index} ${f.object}`);
      excused.push(f);
    }
  }
  const unused: ScoreVerdict["unused"] = [];
  policy.exceptions.forEach((e, index) => {
    if (!used.has(index)) unused.push({ index, check: e.check });
    else
      for (const object of e.objects)
        if (!usedObjects.has(`${index} ${object}`)) unused.push({ index, check: e.check, object });
  });
  return { failures, excused, unused };
}

/** kube-score's arguments for a policy (the report is read from stdin). */
export function kubeScoreArgs(policy: ScorePolicy): string[] {
  return [
    "score",
    "--output-format",
    "json",
    "--kubernetes-version",
    policy.kubernetesVersion,
    ...policy.optionalChecks.flatMap((c) => ["--enable-optional-test", c]),
    // Exceptions are judged here, per object, not by kube-score's per-object annotations (which would change
    // what the chart renders) or its global --ignore-test.
    "--disable-ignore-checks-annotations",
    "-",
  ];
}
