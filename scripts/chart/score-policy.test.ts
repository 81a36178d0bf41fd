import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findingsOf, judge, kubeScoreArgs, parseScorePolicy, ScorePolicyError } from "./score-policy.ts";

const why = "a reason long enough to be a real sentence about the risk";

/** A kube-score JSON (v2) report with one object and the given checks. */
function report(kind: string, name: string, checks: Array<[id: string, grade: number, summaries: string[]]>) {
  return [
    {
      type_meta: { kind, apiVersion: "apps/v1" },
      object_meta: { name, namespace: "vireo-system" },
      checks: checks.map(([id, grade, summaries]) => ({
        check: { id, name: id, target_type: kind, comment: "", optional: false },
        grade,
        skipped: false,
        comments: summaries.map((summary) => ({ path: "operator", summary, description: "" })),
      })),
    },
  ];
}

describe("kube-score policy", () => {
  it("parses the chart's own policy file", () => {
    const policy = parseScorePolicy(parse(readFileSync("charts/kube-score.yaml", "utf8")));
    expect(policy.exceptions.length).toBeGreaterThan(0);
    for (const e of policy.exceptions) expect(e.why.length).toBeGreaterThanOrEqual(40);
  });

  it("refuses an exception without a reason, naming the field", () => {
    const bad = {
      kubernetesVersion: "v1.30",
      exceptions: [{ check: "x", objects: ["Pod/a"], why: "because" }],
    };
    expect(() => parseScorePolicy(bad)).toThrow(ScorePolicyError);
    expect(() => parseScorePolicy(bad)).toThrow(/^policy\.exceptions\.0\.why: say why/);
  });

  it("keeps only graded findings (not OK, not skipped), one per comment", () => {
    const r = report("Deployment", "vireo-operator", [
      ["container-resources", 1, ["CPU limit is not set", "Memory limit is not set"]],
      ["pod-probes", 10, []],
      ["stable-version", 7, ["almost"]],
    ]);
    expect(findingsOf("default", r).map((f) => `${f.object} ${f.check}: ${f.summary}`)).toEqual([
      "Deployment/vireo-operator container-resources: CPU limit is not set",
      "Deployment/vireo-operator container-resources: Memory limit is not set",
    ]);
  });

  it("excuses only the named findings of the named objects in the named cases", () => {
    const policy = parseScorePolicy({
      kubernetesVersion: "v1.30",
      exceptions: [
        {
          check: "container-resources",
          objects: ["Deployment/vireo-operator"],
          findings: ["CPU limit is not set"],
          why,
        },
        { check: "pod-networkpolicy", objects: ["Deployment/vireo-operator"], cases: ["default"], why },
      ],
    });
    const r = report("Deployment", "vireo-operator", [
      ["container-resources", 1, ["CPU limit is not set", "Memory limit is not set"]],
      ["pod-networkpolicy", 1, ["The pod does not have a matching NetworkPolicy"]],
    ]);
    const verdict = judge(policy, [...findingsOf("default", r), ...findingsOf("scoped", r)]);
    expect(verdict.failures.map((f) => `${f.case} ${f.summary}`)).toEqual([
      "default Memory limit is not set",
      "scoped Memory limit is not set",
      "scoped The pod does not have a matching NetworkPolicy",
    ]);
    expect(verdict.excused).toHaveLength(3);
    expect(verdict.unused).toEqual([]);
  });

  it("reports an exception that excuses nothing as stale", () => {
    const policy = parseScorePolicy({
      kubernetesVersion: "v1.30",
      exceptions: [{ check: "deployment-replicas", objects: ["Deployment/vireo-operator"], why }],
    });
    expect(judge(policy, []).unused).toEqual([{ index: 0, check: "deployment-replicas" }]);
  });

  it("reports an object of an exception that excuses nothing for it as stale", () => {
    const policy = parseScorePolicy({
      kubernetesVersion: "v1.30",
      exceptions: [{ check: "pod-networkpolicy", objects: ["Deployment/vireo-operator", "Pod/gone"], why }],
    });
    const r = report("Deployment", "vireo-operator", [["pod-networkpolicy", 1, ["no policy"]]]);
    expect(judge(policy, findingsOf("default", r)).unused).toEqual([
      { index: 0, check: "pod-networkpolicy", object: "Pod/gone" },
    ]);
  });

  it("refuses a report that is not kube-score's JSON, naming the case", () => {
    expect(() => findingsOf("scoped", { not: "a list" })).toThrow(/^report\(scoped\)/);
  });

  it("runs kube-score on stdin with the policy's version and optional checks, annotations ignored", () => {
    const policy = parseScorePolicy({
      kubernetesVersion: "v1.30",
      optionalChecks: ["container-seccomp-profile"],
    });
    expect(kubeScoreArgs(policy)).toEqual([
      "score",
      "--output-format",
      "json",
      "--kubernetes-version",
      "v1.30",
      "--enable-optional-test",
      "container-seccomp-profile",
      "--disable-ignore-checks-annotations",
      "-",
    ]);
  });
});
